// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { dataSourceOptions, type EntityList, type MigrationList } from './data-source-options';
export {
  embeddedSecretKey,
  runningEmbeddedUrl,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from './embedded-postgres';
export { PreparedSql } from './prepared-sql';
export { runMigrations } from './run-migrations';
export { isTransientDbError, withTransientRetry } from './transient-retry';
