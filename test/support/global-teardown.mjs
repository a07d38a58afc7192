import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pg = require('pg');

export default async function globalTeardown() {
  const db = globalThis.__CONSTELLATION_TEST_DB__;
  if (db) {
    const client = new pg.Client({ connectionString: db.adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(db.name)} WITH (FORCE)`);
    await client.end();
  }
  await globalThis.__CONSTELLATION_EMBEDDED__?.stop();
}
