import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runMigrations, startEmbeddedPostgres } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from '../../apps/broker/src/schema';

/** One statement on a connection of its own; its rows. */
export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Brings the database at `url` to the broker's schema, as the broker's own start would. */
export async function migrateBenchDatabase(url: string): Promise<void> {
  await runMigrations(url, ENTITIES, MIGRATIONS);
}

export interface BenchDatabase {
  /** The benchmark's own database. */
  url: string;
  /** Drops it, and stops the embedded server if one was started for it. */
  drop(): Promise<void>;
}

/**
 * A fresh database for one benchmark run, on DATABASE_URL's server or, without it, on an embedded
 * PostgreSQL in a temporary folder: runs never see each other's rows.
 */
export async function openBenchDatabase(prefix: string): Promise<BenchDatabase> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: mkdtempSync(path.join(tmpdir(), 'constellation-bench-')),
        database: 'postgres',
        log: () => undefined,
      });
  adminUrl ??= (embedded as { url: string }).url;
  const name = `${prefix}_${Date.now()}`;
  await sql(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await sql(adminUrl as string, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await embedded?.stop();
    },
  };
}
