export * from './tes.types';
export * from './task.entity';
export * from './task-event.entity';
export * from './task-input-content.entity';
export * from './task-inline-usage.entity';
export * from './installation.entity';
export * from './task-idempotency-key.entity';

import { InstallationEntity } from './installation.entity';
import { TaskEventEntity } from './task-event.entity';
import { TaskInputContentEntity } from './task-input-content.entity';
import { TaskInlineUsageEntity } from './task-inline-usage.entity';
import { TaskEntity } from './task.entity';
import { TaskIdempotencyKeyEntity } from './task-idempotency-key.entity';

export const TES_ENTITIES = [
  TaskEntity,
  TaskEventEntity,
  TaskInputContentEntity,
  TaskInlineUsageEntity,
  InstallationEntity,
  TaskIdempotencyKeyEntity,
];
export * from './tes.module';
export * from './task.repository';
export * from './task.service';
export * from './task-purge.service';
export * from './task-purge.repository';
export * from './task-views';
export * from './inline-content';
export * from './task-document.validator';
export * from './backend-parameters';
export * from './list-query';
export * from './service-info';
export * from './tes-openapi';
export * from './placement-preview';
