import type { MigrationList } from '@constellation/persistence';

/** Applied in order of their timestamps; never edit one that has been applied anywhere. */
export const MIGRATIONS: MigrationList = [];
