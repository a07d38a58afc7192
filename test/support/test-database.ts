import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from '../../apps/broker/src/schema';

/** The run's database (global-setup), migrated, for tests that need it without a whole application. */
export async function migratedDataSource(): Promise<DataSource> {
  const url = process.env.DATABASE_URL as string;
  await runMigrations(url, ENTITIES, MIGRATIONS);
  const db = new DataSource(dataSourceOptions(url, ENTITIES, MIGRATIONS));
  return db.initialize();
}
