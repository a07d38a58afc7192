export * from './data-source-options';
export * from './run-migrations';
export * from './embedded-postgres';
export * from './prepared-sql';
export * from './transient-retry';
