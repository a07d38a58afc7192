import { Module } from '@nestjs/common';
import { PreparedSql } from '@constellation/persistence';
import { ServiceInfoService } from './service-info.service';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';
import { TesController } from './tes.controller';

@Module({
  controllers: [TesController],
  providers: [PreparedSql, TaskRepository, TaskService, ServiceInfoService],
  exports: [TaskRepository, TaskService],
})
export class TesModule {}
