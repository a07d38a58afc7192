import type { ClientBase } from 'pg';
import { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityList = MixedList<Function | string | EntitySchema>;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type MigrationList = Function[];

/** `application_name` of every connection the broker opens. */
export const BROKER_APPLICATION_NAME = 'constellation';

/** The one place a DataSource's options are built: entities and migrations are listed, never globbed. */
export function dataSourceOptions(
  url: string,
  entities: EntityList,
  migrations: MigrationList,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'schema_migration',
    // One transaction per migration, as the broker applies them: index builds that run CONCURRENTLY opt out
    // of theirs, which TypeORM's CLI refuses under its default of one transaction for all.
    migrationsTransactionMode: 'each',
    // Names the broker's connections in pg_stat_activity, for operators (and the tests that end them).
    applicationName: BROKER_APPLICATION_NAME,
    extra: { max: 20, connectionTimeoutMillis: 10_000, onConnect: withoutJit },
  };
}

/**
 * Every connection turns PostgreSQL's JIT compiler off before its first statement. The broker runs only
 * short statements, and the planner overrates those that edit jsonb (it takes every array to hold 100
 * elements), so a large BASIC page passed jit_above_cost and was compiled each time: at 1M tasks a page of
 * 2048 ran in 68 ms instead of 36, and with a state filter in 294 ms instead of 48. A `SET` on each new
 * connection (pg-pool's onConnect, awaited before the connection is used) rather than a startup option,
 * which PgBouncer refuses unless configured to ignore it.
 */
async function withoutJit(client: ClientBase): Promise<void> {
  await client.query('SET jit = off');
}
