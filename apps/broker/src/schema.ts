import { EntityList, MigrationList } from '@constellation/persistence';
import { AUTH_ENTITIES } from '@constellation/auth';
import { TES_ENTITIES } from '@constellation/tes';
import { REGISTRY_ENTITIES } from '@constellation/registry';
import { DISPATCH_ENTITIES } from '@constellation/dispatch';
import { JOB_FILES_ENTITIES } from '@constellation/job-files';
import { MIGRATIONS } from '../../../migrations';

/** Every entity of every lib, listed once so `src` and `dist` resolve the same classes. */
export const ENTITIES: EntityList = [
  ...AUTH_ENTITIES,
  ...TES_ENTITIES,
  ...REGISTRY_ENTITIES,
  ...DISPATCH_ENTITIES,
  ...JOB_FILES_ENTITIES,
];
export { MIGRATIONS };
export type { EntityList, MigrationList };
