import 'reflect-metadata';
import cluster, { Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { AppConfig, ConfigError, LOG_FORMATS, LogFormat, loadConfig } from '@constellation/config';
import {
  embeddedSecretKey,
  EmbeddedDatabase,
  runMigrations,
  startEmbeddedPostgres,
} from '@constellation/persistence';
import { allowLongUploads } from '@constellation/job-files';
import { prettyLogs, serveClusterMetrics } from '@constellation/observability';
import { createApp } from './app.factory';
import { consoleBuilt } from './http/console-static';
import { ENTITIES, MIGRATIONS } from './schema';

/** How long a shutdown waits for in-flight requests before it closes their connections. */
const SHUTDOWN_DRAIN_MS = 25_000;

/** As LOG_FORMAT asks (checked by loadConfig; an invalid value reads as auto until then). */
const PRETTY = prettyLogs(
  (LOG_FORMATS as readonly string[]).includes(process.env.LOG_FORMAT ?? '')
    ? (process.env.LOG_FORMAT as LogFormat)
    : 'auto',
);

function say(level: 'info' | 'warn' | 'error', message: string): void {
  const worker = cluster.isWorker ? { worker: cluster.worker?.id } : {};
  if (PRETTY) {
    const time = new Date().toTimeString().slice(0, 8);
    const who = cluster.isWorker ? ` (worker ${cluster.worker?.id})` : '';
    process.stdout.write(`[${time}] ${level.toUpperCase()}: [startup]${who} ${message}\n`);
    return;
  }
  // Before Nest's logger exists, start-up speaks pino's shape so log collectors read one format.
  const levels = { info: 30, warn: 40, error: 50 };
  process.stdout.write(
    `${JSON.stringify({ level: levels[level], time: Date.now(), pid: process.pid, context: 'startup', ...worker, msg: message })}\n`,
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
  // A worker gets DATABASE_URL and the secret key from the primary, which has migrated the database.
  if (cluster.isWorker) return serve(config, config.databaseUrl as string, config.secretKey as string);

  // Before anything that lasts (a database server, a generated admin token): a broker that cannot listen
  // must leave nothing behind and say why in one line.
  const busy = await portProblem(config.host, config.port);
  if (busy !== null) {
    say('error', busy);
    process.exit(1);
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

  if (config.workers === 1) return serve(config, databaseUrl, secretKey, () => embedded?.stop());
  superviseWorkers(config.workers, { DATABASE_URL: databaseUrl, CONSTELLATION_SECRET_KEY: secretKey }, () =>
    embedded?.stop(),
  );
}

/** Why the broker could not listen on host:port, or null when it can (the port is free and the host local). */
function portProblem(host: string, port: number): Promise<string | null> {
  if (port === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') {
        resolve(
          `cannot listen on ${where}: the port is already in use (another broker?); set PORT to another port`,
        );
      } else if (err.code === 'EADDRNOTAVAIL') {
        resolve(
          `cannot listen on ${where}: no network interface of this machine has that address; check HOST`,
        );
      } else if (err.code === 'EACCES') {
        resolve(`cannot listen on ${where}: permission denied (ports below 1024 need privileges); set PORT`);
      } else resolve(`cannot listen on ${where}: ${err.code ?? err.message}`);
    });
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
}

/** Runs the application in this process until SIGTERM or SIGINT; `stopped` runs after it has closed. */
async function serve(
  config: AppConfig,
  databaseUrl: string,
  secretKey: string,
  stopped: () => Promise<void> | undefined = () => undefined,
): Promise<void> {
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
      await stopped();
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

  try {
    // Apart from listening: what the modules check as they start (the job-files bucket) is not about the port.
    await app.init();
  } catch (err) {
    say('error', `cannot start: ${(err as Error).message}`);
    await app.close().catch(() => undefined);
    await stopped();
    process.exit(1);
  }
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    // Taken between the check at start-up and now: stop what started, embedded database included.
    say(
      'error',
      `cannot listen on ${config.host}:${config.port}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
    await app.close().catch(() => undefined);
    await stopped();
    process.exit(1);
  }
  // Node's 300 s requestTimeout would end a long output upload to /api/v1/job-files with a 408 (see there).
  allowLongUploads(app.getHttpServer());
  say(
    'info',
    `Constellation listening on ${config.publicUrl} (${consoleBuilt() ? `web console ${config.publicUrl}/, ` : ''}API docs ${config.publicUrl}/docs, TES ${config.publicUrl}/ga4gh/tes/v1)`,
  );
}

/** Longest wait before a dead worker is replaced, when workers keep dying. */
const MAX_RESPAWN_DELAY_MS = 30_000;
/** A worker that lived this long resets the respawn delay. */
const HEALTHY_WORKER_MS = 60_000;

/**
 * Primary of CONSTELLATION_WORKERS > 1: forks the workers, which share the listening socket (Node's cluster
 * hands each new connection to one of them) and work as replicas of one broker. If one of the first workers
 * fails while starting, the broker stops, as a single process would; later a dead worker is replaced, after
 * a delay that doubles (1 s to 30 s) while replacements keep dying. SIGTERM or SIGINT stops the workers (each
 * drains its requests), then `stopped` runs.
 */
function superviseWorkers(
  count: number,
  env: Record<string, string>,
  stopped: () => Promise<void> | undefined,
): void {
  const live = new Map<number, { worker: Worker; startedAt: number; listening: boolean }>();
  serveClusterMetrics(() => [...live.values()].filter((w) => w.listening).map((w) => w.worker));
  let started = false;
  let stopping = false;
  let exitCode = 0;
  let respawnDelayMs = 1000;

  const fork = () => {
    const worker = cluster.fork(env);
    live.set(worker.id, { worker, startedAt: Date.now(), listening: false });
    worker.once('listening', () => {
      const entry = live.get(worker.id);
      if (entry) entry.listening = true;
      if (!started && [...live.values()].every((w) => w.listening)) started = true;
    });
  };
  const finish = async () => {
    try {
      await stopped();
    } finally {
      process.exit(exitCode);
    }
  };
  const stopAll = (why: string, code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    say('info', `${why}: stopping the workers`);
    if (live.size === 0) return void finish();
    for (const { worker } of live.values()) worker.process.kill('SIGTERM');
    // Workers drain for SHUTDOWN_DRAIN_MS at most; one that is stuck beyond that is killed.
    setTimeout(() => {
      for (const { worker } of live.values()) worker.process.kill('SIGKILL');
    }, SHUTDOWN_DRAIN_MS + 5_000).unref();
  };
  cluster.on('exit', (worker, code, signal) => {
    const entry = live.get(worker.id);
    live.delete(worker.id);
    if (stopping) {
      if (live.size === 0) void finish();
      return;
    }
    const how = signal ?? `code ${code}`;
    if (!started) {
      say('error', `worker ${worker.id} stopped while starting (${how}); stopping the broker`);
      stopAll('start-up failure', 1);
      return;
    }
    const lived = entry ? Date.now() - entry.startedAt : 0;
    if (lived >= HEALTHY_WORKER_MS) respawnDelayMs = 1000;
    const delay = lived >= HEALTHY_WORKER_MS ? 0 : respawnDelayMs;
    if (lived < HEALTHY_WORKER_MS) respawnDelayMs = Math.min(MAX_RESPAWN_DELAY_MS, respawnDelayMs * 2);
    say('warn', `worker ${worker.id} stopped (${how}); starting a new one in ${delay / 1000} s`);
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });
  process.on('SIGTERM', () => stopAll('SIGTERM received', 0));
  process.on('SIGINT', () => stopAll('SIGINT received', 0));
  for (let i = 0; i < count; i++) fork();
  say('info', `started ${count} workers`);
}

main().catch((err: unknown) => {
  say('error', `start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
