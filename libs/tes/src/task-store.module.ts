import { Module } from '@nestjs/common';
import { TaskChangeRepository } from './task-change.repository';
import { TaskLeaseRepository } from './task-lease.repository';
import { TaskLoadRepository } from './task-load.repository';
import { TaskTrackingRepository } from './task-tracking.repository';

/**
 * The repositories dispatch reads and writes the task tables through, on their own: without TesModule's API
 * and purge loop, which a process that only runs dispatch's self-tests (the CLI) must not start.
 */
@Module({
  providers: [TaskChangeRepository, TaskLeaseRepository, TaskLoadRepository, TaskTrackingRepository],
  exports: [TaskChangeRepository, TaskLeaseRepository, TaskLoadRepository, TaskTrackingRepository],
})
export class TaskStoreModule {}
