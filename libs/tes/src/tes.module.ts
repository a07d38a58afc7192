import { Module } from '@nestjs/common';
import { ServiceInfoService } from './service-info.service';
import { TaskRepository } from './task.repository';
import { TaskService } from './task.service';
import { TesController } from './tes.controller';

@Module({
  controllers: [TesController],
  providers: [TaskRepository, TaskService, ServiceInfoService],
  exports: [TaskRepository, TaskService],
})
export class TesModule {}
