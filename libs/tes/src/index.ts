// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { withInlineContent, type InputContent } from './inline-content';
export { PLACEMENT_PREVIEW, type PlacementPreview } from './placement-preview';
export { TASK_ARRIVALS, type TaskArrivals } from './task-arrivals';
export { SITE_INPUT_SCHEMES, type SiteInputSchemes } from './service-info';
export { validateTaskDocument } from './task-document.validator';
export { type TaskEventKind } from './task-event.entity';
export { TaskEntity } from './task.entity';
export { addTesToOpenApi } from './tes-openapi';
export { TesModule } from './tes.module';
export {
  TES_STATES,
  type TaskDocument,
  type TesExecutor,
  type TesExecutorLog,
  type TesInput,
  type TesOutput,
  type TesOutputFileLog,
  type TesResources,
  type TesState,
  type TesTaskLog,
} from './tes.types';
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
