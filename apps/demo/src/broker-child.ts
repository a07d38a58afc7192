import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface BrokerChild {
  url: string;
  stop(): Promise<void>;
}

/** The repository root: where package.json is, above this file in the sources and in dist/ alike. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'apps', 'broker')))
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`repository root not found above ${__dirname}`);
  }
}

/**
 * The broker's command line: the compiled one when the demo itself runs compiled (npm run demo), as
 * `npm start` runs it; the sources through ts-node when the demo runs from its sources (the tests).
 */
function brokerCommand(root: string): string[] {
  if (__filename.endsWith('.js'))
    return ['--max-semi-space-size=32', path.join(root, 'dist', 'apps', 'broker', 'src', 'main.js')];
  return [
    '-r',
    'ts-node/register/transpile-only',
    '-r',
    'tsconfig-paths/register',
    path.join(root, 'apps', 'broker', 'src', 'main.ts'),
  ];
}

async function waitReady(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the broker exited during start-up (code ${child.exitCode}); see ${logFile}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the broker was not ready after ${timeoutMs / 1000} s; see ${logFile}`);
}

/**
 * Starts the broker in a process of its own (the simulated sites never run inside it), with its log in
 * the demo's data folder, and waits for /health/ready. Dispatch, tracking and probes run faster than
 * their production defaults so that a dead site is noticed within seconds of compressed time.
 */
export async function startBroker(opts: {
  port: number;
  dataDir: string;
  adminToken: string;
  databaseUrl?: string;
  secretKey?: string;
}): Promise<BrokerChild> {
  const root = repoRoot();
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const logFile = path.join(opts.dataDir, 'broker.log');
  const log = fs.openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    CONSTELLATION_DATA_DIR: opts.dataDir,
    CONSTELLATION_ADMIN_TOKEN: opts.adminToken,
    CONSTELLATION_DISPATCH_SECONDS: '0.5',
    CONSTELLATION_TRACK_SECONDS: '1',
    CONSTELLATION_PROBE_SECONDS: '1',
    CONSTELLATION_PROBE_FAILURES: '2',
    CONSTELLATION_WORKERS: '1',
    TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
  };
  delete env.DATABASE_URL;
  delete env.CONSTELLATION_SECRET_KEY;
  if (opts.databaseUrl !== undefined) {
    env.DATABASE_URL = opts.databaseUrl;
    env.CONSTELLATION_SECRET_KEY = opts.secretKey;
  }
  // A process group of its own: Ctrl-C reaches the demo alone, which stops the broker after the workload.
  const child = spawn(process.execPath, brokerCommand(root), {
    cwd: root,
    env,
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
  };
  try {
    await waitReady(url, child, logFile, 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
