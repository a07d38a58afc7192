import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from '../apps/broker/src/schema';

async function tables(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    return res.rows.map((r: { table_name: string }) => r.table_name);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  const adminUrl = process.env.CONSTELLATION_TEST_ADMIN_URL as string;
  const name = `${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_mig`;
  const url = (() => {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return u.toString();
  })();

  beforeAll(async () => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    await client.end();
  });
  afterAll(async () => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.end();
  });

  it('migrates an empty database up, is idempotent, and reverts every migration cleanly', async () => {
    const applied = await runMigrations(url, ENTITIES, MIGRATIONS);
    expect(applied).toHaveLength(MIGRATIONS.length);
    expect(await runMigrations(url, ENTITIES, MIGRATIONS)).toEqual([]);
    const up = await tables(url);
    expect(up).toContain('schema_migration');

    const ds = new DataSource(dataSourceOptions(url, ENTITIES, MIGRATIONS));
    await ds.initialize();
    try {
      // The entities and the migrations describe the same schema: nothing left for TypeORM to generate.
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);

      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
    expect(await tables(url)).toEqual(['schema_migration']);
  });
});
