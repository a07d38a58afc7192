#!/usr/bin/env node
// `npm run migration:{run,revert,generate}`: the TypeORM CLI against DATABASE_URL, or against the embedded
// PostgreSQL in CONSTELLATION_DATA_DIR when it is unset (started for the command, stopped afterwards).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = (p) => path.join(root, 'dist', p);

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (!['migration:run', 'migration:revert', 'migration:generate', 'migration:show'].includes(command)) {
    console.error(
      'usage: typeorm-cli.js migration:run|migration:revert|migration:show|migration:generate migrations/<Name>',
    );
    process.exit(2);
  }
  let embedded;
  const env = { ...process.env };
  if (!env.DATABASE_URL) {
    const { runningEmbeddedUrl, startEmbeddedPostgres } = require(dist('libs/persistence/src'));
    const dataDir = path.resolve(env.CONSTELLATION_DATA_DIR || '.constellation');
    // A broker running on this folder owns its server: use it, never start (and so stop) a second one.
    env.DATABASE_URL = runningEmbeddedUrl(dataDir);
    if (env.DATABASE_URL) console.error(`using the embedded PostgreSQL server already running in ${dataDir}`);
    else {
      embedded = await startEmbeddedPostgres({
        dataDir,
        log: (level, msg) => level !== 'info' && console.error(msg),
      });
      env.DATABASE_URL = embedded.url;
    }
  }
  const args = [
    require.resolve('typeorm/cli.js'),
    command,
    '-d',
    dist('apps/broker/src/data-source.js'),
    ...rest,
  ];
  if (command === 'migration:generate') args.push('--pretty');
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env, cwd: root });
  await embedded?.stop();
  process.exit(result.status ?? 1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
