import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@constellation/observability';
import { PreparedSql } from '@constellation/persistence';
import { ServiceInfoService } from './service-info.service';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';
import { TaskPurgeRepository } from './task-purge.repository';
import { TaskPurgeLoop } from './task-purge.loop';
import { TaskPurgeService } from './task-purge.service';
import { TesController } from './tes.controller';
import { TaskInsightController } from './task-insight.controller';
import { TaskSearchController } from './task-search.controller';
import { TaskSearchRepository } from './task-search.repository';

@Module({
  imports: [ObservabilityModule],
  controllers: [TesController, TaskInsightController, TaskSearchController],
  providers: [
    PreparedSql,
    TaskRepository,
    TaskSearchRepository,
    TaskService,
    ServiceInfoService,
    TaskPurgeRepository,
    TaskPurgeService,
    TaskPurgeLoop,
  ],
  exports: [TaskRepository, TaskService, TaskPurgeService],
})
export class TesModule {}
