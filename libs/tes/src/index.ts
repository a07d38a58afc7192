// What other libraries and the application may use. SQL stays inside the lib: the repositories exported here are
// the ones dispatch reads and writes tasks through, as the tes library owns `task` and `task_event`.
export { type DispatchTask, type Phase } from './dispatch-task';
export { withInlineContent, type InputContent } from './inline-content';
export { PLACEMENT_PREVIEW, type PlacementPreview } from './placement-preview';
export { TASK_ARRIVALS, type TaskArrivals } from './task-arrivals';
export { SITE_INPUT_SCHEMES, type SiteInputSchemes } from './service-info';
export { validateTaskDocument } from './task-document.validator';
export {
  TaskChangeRepository,
  type Alongside,
  type AlongsideAll,
  type AttemptTimes,
  type ClaimedChange,
  type PlacementWrite,
  type SubmissionItem,
  type SubmissionWrite,
  type TaskChange,
  type TaskUpdate,
} from './task-change.repository';
export { type TaskEventKind } from './task-event.entity';
export { type TaskEventNote } from './task-event.writer';
export { TaskLeaseRepository, type OverdueQueued } from './task-lease.repository';
export {
  TaskLoadRepository,
  type RunningTaskLoad,
  type SiteUsage,
  type SubmitterUsage,
} from './task-load.repository';
export {
  TaskTrackingRepository,
  type ClaimedCheck,
  type QuietCheck,
  type WalkedTask,
} from './task-tracking.repository';
export { TaskStoreModule } from './task-store.module';
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
