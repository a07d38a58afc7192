import { DataSource } from 'typeorm';
import { dataSourceOptions, EntityList, MigrationList } from './data-source-options';

// Replicas that start together must not apply the same migration twice.
const MIGRATION_LOCK_KEY = 7_245_001;

/** Applies pending migrations under a cluster-wide advisory lock; returns the names it applied. */
export async function runMigrations(
  url: string,
  entities: EntityList,
  migrations: MigrationList,
): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(url, entities, migrations));
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}
