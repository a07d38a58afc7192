import { EntityList, MigrationList } from '@constellation/persistence';
import { MIGRATIONS } from '../../../migrations';

/** Every entity of every lib, listed once so `src` and `dist` resolve the same classes. */
export const ENTITIES: EntityList = [];
export { MIGRATIONS };
export type { EntityList, MigrationList };
