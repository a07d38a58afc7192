#!/usr/bin/env node
// `npm run migrate:prod`: applies the pending migrations to DATABASE_URL and exits, under the advisory lock
// the broker takes at start-up, so it is safe beside replicas that are starting (a Kubernetes init
// container, an upgrade step before replicas roll). Needs a build (dist/) and production dependencies only.
const path = require('node:path');

const dist = (p) => path.join(__dirname, '..', 'dist', p);

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url || url.trim() === '') {
    console.error('DATABASE_URL must be set: the PostgreSQL database to migrate');
    process.exit(2);
  }
  const { runMigrations } = require(dist('libs/persistence/src'));
  const { ENTITIES, MIGRATIONS } = require(dist('apps/broker/src/schema'));
  const applied = await runMigrations(url.trim(), ENTITIES, MIGRATIONS);
  console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
}

main().catch((err) => {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
