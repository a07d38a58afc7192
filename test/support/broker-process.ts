import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Node's arguments that run one of the repository's TypeScript entry points from its sources (ts-node). */
export const TS_NODE_ARGS = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

/** `env` with what TS_NODE_ARGS need to find the repository's compiler settings from any directory. */
export function tsNodeEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') } as NodeJS.ProcessEnv;
}

export interface BrokerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs apps/broker/src/main.ts in a child process (ts-node), as `npm start` runs the compiled one. */
export function spawnBroker(env: Record<string, string | undefined>): BrokerProcess {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, 'apps/broker/src/main.ts'], {
    cwd: ROOT,
    env: tsNodeEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** Polls `url` until it answers 200, or fails naming what it waited for. */
export async function waitForOk(url: string, timeoutMs: number, proc?: BrokerProcess): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (proc && proc.child.exitCode !== null) throw new Error(`broker exited early:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for 200 from ${url}\n${proc?.output() ?? ''}`);
}

/** The environment of this test process without the database the run set up (to exercise the embedded path). */
export function envWithoutDatabase(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.DATABASE_URL;
  delete env.CONSTELLATION_SECRET_KEY;
  delete env.CONSTELLATION_TEST_ADMIN_URL;
  return { ...env, ...extra };
}

/** A loopback port nothing listens on now, for a broker process to take. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
