import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@constellation/persistence';
import { MIGRATION_LOCK_KEY } from '../libs/persistence/src/run-migrations';
import { newId } from '@constellation/common';
import { viewsByIdSql } from '../libs/tes/src/task-views';
import { ENTITIES, MIGRATIONS } from '../apps/broker/src/schema';
import { TaskInputContent1764000600000 } from '../migrations/1764000600000-TaskInputContent';
import { OwnDatabase } from './support/own-database';
import { waitFor } from './support/wait-for';

// The built broker (npm test builds first), which the TypeORM CLI loads its data source from.
const ROOT = path.resolve(__dirname, '..');

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

  it('moves inline contents out of stored documents in batches, and back on revert', async () => {
    const at = MIGRATIONS.indexOf(TaskInputContent1764000600000);
    await runMigrations(url, ENTITIES, MIGRATIONS.slice(0, at));
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const owner = newId();
      await client.query(`INSERT INTO principal (id, name, role) VALUES ($1, 'old-tasks', 'submitter')`, [
        owner,
      ]);
      // More tasks than one batch (100), some without content, contents of every kind of character.
      const documents = new Map<string, Record<string, unknown>>();
      for (let n = 0; n < 250; n++) {
        const inputs: Record<string, unknown>[] = [
          { path: '/in/url', type: 'FILE', url: 'https://example.org/a' },
        ];
        if (n % 3 !== 0)
          inputs.push({ path: '/in/a', type: 'FILE', content: `task ${n}: "quoted"\n\ttab é€ \u0001` });
        if (n % 5 === 1) inputs.push({ path: '/in/b', type: 'FILE', content: 'x'.repeat(10_000 + n) });
        const document = {
          executors: [{ image: 'alpine', command: ['true'] }],
          inputs,
          outputs: [],
          tags: {},
        };
        const id = newId();
        documents.set(id, document);
        await client.query(
          `INSERT INTO task (id, submitter_id, state, document, created_at, updated_at, version)
           VALUES ($1, $2, $3, $4, now(), now(), 1)`,
          [id, owner, n % 2 === 0 ? 'QUEUED' : 'COMPLETE', JSON.stringify(document)],
        );
      }

      await runMigrations(url, ENTITIES, MIGRATIONS);
      const left = await client.query(
        `SELECT count(*)::int AS n FROM task WHERE jsonb_path_exists(document, '$.inputs[*].content')`,
      );
      expect(left.rows[0].n).toBe(0);
      const stored = await client.query(`SELECT count(*)::int AS n FROM task_input_content`);
      const expected = [...documents.values()].reduce(
        (sum, d) => sum + (d.inputs as { content?: string }[]).filter((i) => i.content !== undefined).length,
        0,
      );
      expect(stored.rows[0].n).toBe(expected);
      const sizes = await client.query(`SELECT id, content_bytes::int AS bytes FROM task`);
      for (const r of sizes.rows as { id: string; bytes: number }[]) {
        const inputs = documents.get(r.id)?.inputs as { content?: string }[];
        expect(r.bytes).toBe(inputs.reduce((sum, i) => sum + Buffer.byteLength(i.content ?? '', 'utf8'), 0));
      }
      // Each submitter's running total counts its unfinished (here QUEUED) tasks' contents.
      const usage = await client.query(
        `SELECT bytes::int AS bytes FROM task_inline_usage WHERE submitter_id = $1`,
        [owner],
      );
      const queuedBytes = sizes.rows
        .filter((r: { id: string }) => [...documents.keys()].indexOf(r.id) % 2 === 0)
        .reduce((sum: number, r: { bytes: number }) => sum + r.bytes, 0);
      expect(usage.rows).toEqual([{ bytes: queuedBytes }]);
      // The FULL view puts every content back where it was.
      const full = await client.query(viewsByIdSql('FULL'), [[...documents.keys()]]);
      for (const r of full.rows as { id: string; json: string }[]) {
        expect(JSON.parse(r.json).inputs).toEqual(documents.get(r.id)?.inputs);
      }

      const ds = new DataSource(dataSourceOptions(url, ENTITIES, MIGRATIONS));
      await ds.initialize();
      try {
        for (let i = at; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      } finally {
        await ds.destroy();
      }
      const restored = await client.query(`SELECT id, document FROM task`);
      for (const r of restored.rows as { id: string; document: unknown }[]) {
        expect(r.document).toEqual(documents.get(r.id));
      }
    } finally {
      await client.end();
    }
  });
});

describe('replicas starting together', () => {
  const db = OwnDatabase.besideRun('miglock');
  beforeAll(() => db.create());
  afterAll(() => db.drop());

  it('waits for the migration lock without holding back an index built CONCURRENTLY by the holder', async () => {
    // The holder: another replica, migrating.
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const waiting = runMigrations(db.url, ENTITIES, MIGRATIONS);
      const outcome = waiting.then(
        (applied) => ({ applied }),
        (err: Error) => ({ err }),
      );
      // Until the waiting replica is asking for the lock (a fixed 1.5 s could end before it got there on a
      // loaded machine, and the index below would then be built with nothing waiting).
      await waitFor('the waiting replica to ask for the migration lock', async () => {
        const { rows } = await holder.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_lock%'`,
        );
        return rows.length > 0 ? true : undefined;
      });
      await holder.query('CREATE TABLE lock_probe (x int)');
      // Waited on every older snapshot: a replica parked in pg_advisory_lock made this a deadlock.
      await holder.query('CREATE INDEX CONCURRENTLY lock_probe_x ON lock_probe (x)');
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      const result = await outcome;
      expect(result).toEqual({ applied: expect.any(Array) });
      expect((result as { applied: string[] }).applied).toHaveLength(MIGRATIONS.length);
      const invalid = await holder.query('SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid');
      expect(invalid.rows[0].n).toBe(0);
    } finally {
      await holder.end();
    }
  });
});

describe('npm run migration:run and migration:revert (the TypeORM CLI)', () => {
  const db = new OwnDatabase(`${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_migcli`);
  beforeAll(() => db.create());
  afterAll(() => db.drop());

  /** scripts/typeorm-cli.js on the built broker, as `npm run migration:*` runs it after building. */
  const typeormCli = (command: string) =>
    spawnSync(process.execPath, [path.join(ROOT, 'scripts/typeorm-cli.js'), command], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url },
      encoding: 'utf8',
    });

  it('applies every migration, some of which build indexes outside a transaction, and reverts the last', () => {
    const run = typeormCli('migration:run');
    expect(run.stderr).not.toContain('Error');
    expect(run.status).toBe(0);
    const last = MIGRATIONS[MIGRATIONS.length - 1].name;
    expect(run.stdout).toContain(`Migration ${last} has been executed successfully.`);
    const revert = typeormCli('migration:revert');
    expect(revert.status).toBe(0);
    expect(revert.stdout).toContain(`Migration ${last} has been reverted successfully.`);
  });
});
