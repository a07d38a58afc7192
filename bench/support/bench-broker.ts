import { ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { newId } from '@constellation/common';
import { generateToken, hashToken } from '../../libs/auth/src/token-codec';
import { TS_NODE_ARGS, tsNodeEnv } from '../../test/support/broker-process';
import { sql } from './bench-database';

const ROOT = path.resolve(__dirname, '..', '..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Node's arguments for the broker from its sources, as `npm start` runs it (with ts-node instead of a build). */
export const BROKER_ARGS = ['--max-semi-space-size=32', ...TS_NODE_ARGS, 'apps/broker/src/main.ts'];

/**
 * Node options for the brokers only, from BENCH_BROKER_NODE_ARGS (space-separated): profiling flags such as
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses and which would profile the bench too.
 */
const extraNodeArgs = () => (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

/**
 * The real broker in a process of its own (ts-node, as bench:api runs it), logging to a file: a pipe read by
 * a busy benchmark would block the broker's synchronous log writes and measure our reading instead.
 */
export function startBroker(env: Record<string, string>, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'w');
  return spawn(process.execPath, [...extraNodeArgs(), ...BROKER_ARGS], {
    cwd: ROOT,
    env: tsNodeEnv({ ...process.env, ...env }),
    stdio: ['ignore', fd, fd],
  });
}

/** Waits until `url` answers 2xx; fails with the end of the broker's log when it exits or takes 120 s. */
export async function untilOk(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`broker exited:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`broker not ready in 120 s:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
}

/** A broker the benchmark started, ready to serve. */
export interface ReadyBroker {
  base: string;
  child: ChildProcess;
}

/**
 * startBroker on a free port with what every benchmark wants (no rate limit, one worker, warnings only), plus
 * `env` (given the broker's base URL, which some settings name); waits until it is ready. A broker that never
 * gets ready is stopped before the error is thrown, so no benchmark leaves one behind.
 */
export async function startReadyBroker(
  env: (base: string) => Record<string, string>,
  logFile: string,
): Promise<ReadyBroker> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = startBroker(
    {
      PORT: String(port),
      LOG_LEVEL: 'warn',
      CONSTELLATION_RATE_LIMIT: '100000000/minute',
      CONSTELLATION_WORKERS: '1',
      ...env(base),
    },
    logFile,
  );
  try {
    await untilOk(`${base}/health/ready`, child, logFile);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { base, child };
}

/**
 * Keep-alive connections for the bench's calls: global fetch costs several times the CPU of node:http per
 * request, which on a shared machine the brokers under test would pay for.
 */
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP exchange over the keep-alive connections; the status and the body as text. */
export function httpCall(
  url: string,
  method = 'GET',
  headers: Record<string, string> = {},
  payload?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: keepAlive,
        headers: {
          ...headers,
          ...(payload === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function api(
  broker: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return httpCall(
    `${broker}${route}`,
    method,
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  );
}

export async function expectOk(
  what: string,
  call: Promise<{ status: number; text: string }>,
): Promise<Record<string, unknown>> {
  const res = await call;
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`${what}: ${res.status} ${res.text.slice(0, 500)}`);
  return JSON.parse(res.text) as Record<string, unknown>;
}

/** Registers a site as the admin (`body` without its slug), approves it, and waits for its first good probe. */
export async function registerSite(
  broker: string,
  admin: string,
  body: Record<string, unknown>,
): Promise<{ id: string; slug: string }> {
  const slug = `bench-${Math.random().toString(36).slice(2, 10)}`;
  const site = await expectOk(
    'register site',
    api(broker, admin, 'POST', '/api/v1/sites', {
      slug,
      display_name: slug,
      country: 'DE',
      latitude: 48,
      longitude: 8,
      ...body,
    }),
  );
  const id = site.id as string;
  await expectOk('approve site', api(broker, admin, 'POST', `/api/v1/sites/${id}/approve`));
  for (let i = 0; i < 300; i++) {
    const s = await expectOk('site', api(broker, admin, 'GET', `/api/v1/sites/${id}`));
    if (s.health === 'up') return { id, slug };
    await sleep(100);
  }
  throw new Error(`site ${slug} never came up`);
}

/** A submitter written straight into the database (no admin call needed); its id and API token. */
export async function insertSubmitter(url: string, name: string): Promise<{ id: string; token: string }> {
  const id = newId();
  const token = generateToken();
  await sql(url, `INSERT INTO principal (id, name, role) VALUES ($1, $2, 'submitter')`, [id, name]);
  await sql(url, `INSERT INTO api_token (id, principal_id, token_hash) VALUES ($1, $2, $3)`, [
    newId(),
    id,
    hashToken(token),
  ]);
  return { id, token };
}
