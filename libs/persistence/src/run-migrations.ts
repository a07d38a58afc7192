import { DataSource } from 'typeorm';
import { dataSourceOptions, EntityList, MigrationList } from './data-source-options';

// Replicas that start together must not apply the same migration twice.
export const MIGRATION_LOCK_KEY = 7_245_001;
/** How often a replica that found the migration lock taken asks again. */
const LOCK_POLL_MS = 250;

/**
 * Takes the migration lock, asking again until it is free rather than waiting in `pg_advisory_lock`: a
 * statement left waiting holds a snapshot, and an index built CONCURRENTLY by the replica that holds the lock
 * waits for every older snapshot to end. The two would wait on each other until PostgreSQL broke the
 * deadlock by failing one replica's start (and leaving an invalid index behind).
 */
async function takeMigrationLock(query: (sql: string, params: unknown[]) => Promise<unknown>): Promise<void> {
  for (;;) {
    const [{ locked }] = (await query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])) as {
      locked: boolean;
    }[];
    if (locked) return;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

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
    await takeMigrationLock((sql, params) => runner.query(sql, params));
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
