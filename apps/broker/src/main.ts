import 'reflect-metadata';
import { ConfigError, loadConfig } from '@constellation/config';
import {
  embeddedSecretKey,
  EmbeddedDatabase,
  runMigrations,
  startEmbeddedPostgres,
} from '@constellation/persistence';
import { allowLongUploads } from '@constellation/job-files';
import { createApp } from './app.factory';
import { ENTITIES, MIGRATIONS } from './schema';

/** How long a shutdown waits for in-flight requests before it closes their connections. */
const SHUTDOWN_DRAIN_MS = 25_000;

function say(level: 'info' | 'warn' | 'error', message: string): void {
  // Before Nest's logger exists, start-up speaks pino's shape so log collectors read one format.
  const levels = { info: 30, warn: 40, error: 50 };
  process.stdout.write(
    `${JSON.stringify({ level: levels[level], time: Date.now(), context: 'startup', msg: message })}\n`,
  );
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  let secretKey = config.secretKey;
  if (databaseUrl === undefined) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      log: (level, msg) =>
        level === 'info' && config.logLevel !== 'debug' && config.logLevel !== 'trace'
          ? undefined
          : say(level, msg),
    });
    databaseUrl = embedded.url;
    secretKey ??= await embeddedSecretKey(config.dataDir);
    say('info', `embedded PostgreSQL listening on 127.0.0.1:${embedded.port}, data in ${config.dataDir}/pg`);
  }
  if (secretKey === undefined)
    throw new Error('unreachable: loadConfig requires CONSTELLATION_SECRET_KEY with DATABASE_URL');

  const applied = await runMigrations(databaseUrl, ENTITIES, MIGRATIONS);
  if (applied.length > 0) say('info', `applied migrations: ${applied.join(', ')}`);

  const app = await createApp({ config, databaseUrl, secretKey });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say('info', `${signal} received: finishing in-flight requests, then stopping`);
    // A long upload (or a client that never finishes one) must not hold the shutdown for ever.
    setTimeout(() => app.getHttpServer().closeAllConnections(), SHUTDOWN_DRAIN_MS).unref();
    try {
      // close(): the HTTP server stops accepting and drains, then TypeORM closes its pool.
      await app.close();
      await embedded?.stop();
      process.exit(0);
    } catch (err) {
      say('error', `shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  // on, not once: a second signal during the drain must not fall to Node's default (an exit that would
  // leave the embedded database running).
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen(config.port, config.host);
  // Node's 300 s requestTimeout would end a long output upload to /api/v1/job-files with a 408 (see there).
  allowLongUploads(app.getHttpServer());
  say(
    'info',
    `Constellation listening on ${config.publicUrl} (API docs ${config.publicUrl}/docs, TES ${config.publicUrl}/ga4gh/tes/v1)`,
  );
}

main().catch((err: unknown) => {
  say('error', `start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
