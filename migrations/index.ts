import type { MigrationList } from '@constellation/persistence';
import { AuthAndTasks1764000100000 } from './1764000100000-AuthAndTasks';
import { RegistryTables1764000200000 } from './1764000200000-RegistryTables';
import { TaskDispatch1764000300000 } from './1764000300000-TaskDispatch';
import { ListIndexCoversState1764000400000 } from './1764000400000-ListIndexCoversState';
import { SiteImageSettings1764000800000 } from './1764000800000-SiteImageSettings';

/** Applied in order of their timestamps; never edit one that has been applied anywhere. */
export const MIGRATIONS: MigrationList = [
  AuthAndTasks1764000100000,
  RegistryTables1764000200000,
  TaskDispatch1764000300000,
  ListIndexCoversState1764000400000,
  SiteImageSettings1764000800000,
];
