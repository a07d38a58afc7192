import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { envWithoutDatabase, spawnBroker, waitForOk } from './support/broker-process';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a script of the project with node, after the build it needs is current (as the npm scripts do). */
async function run(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const once = (argv: string[]) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, argv, {
        cwd: path.resolve(__dirname, '..'),
        env: env as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });
  const build = await once(['scripts/build-if-stale.js']);
  if (build.code !== 0) return build;
  return once(args);
}

describe('broker without DATABASE_URL (embedded PostgreSQL)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'constellation-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates the data folder, serves, stops cleanly on SIGTERM, restarts, and recovers after SIGKILL', async () => {
    const port = await freePort();
    const env = envWithoutDatabase({
      PORT: String(port),
      CONSTELLATION_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    });
    const ready = `http://127.0.0.1:${port}/health/ready`;

    const first = spawnBroker(env);
    await waitForOk(ready, 90_000, first);
    expect(existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    const pgPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const pgPort = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]);
    expect(pgPort).not.toBe(5432);
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(alive(pgPid)).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    const second = spawnBroker(env);
    // A restart reuses the cluster (no initdb); its time is not asserted here: a loaded machine varies.
    await waitForOk(ready, 60_000, second);
    expect(second.output()).not.toContain('initialising a new embedded PostgreSQL cluster');
    // Migrations while the broker runs use its database server instead of starting (and so stopping) one.
    const migrations = await run(['scripts/typeorm-cli.js', 'migration:show'], env);
    expect(migrations.code).toBe(0);
    expect(migrations.output).toContain('using the embedded PostgreSQL server already running');
    expect(migrations.output).toMatch(/\[X\] \d+ AbandonedCopies1764000900000/);
    expect((await fetch(`http://127.0.0.1:${port}/ga4gh/tes/v1/service-info`)).status).toBe(200);
    expect((await fetch(ready)).status).toBe(200);
    const orphanPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    second.child.kill('SIGKILL');
    await second.exited;
    expect(alive(orphanPid)).toBe(true);

    const third = spawnBroker(env);
    await waitForOk(ready, 60_000, third);
    expect(third.output()).toContain('left running by an earlier broker');
    expect(alive(orphanPid)).toBe(false);
    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
  }, 240_000);

  it('stops with one clear line, and leaves nothing behind, when its port is taken', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const fresh = mkdtempSync(path.join(tmpdir(), 'constellation-busy-'));
    try {
      const proc = spawnBroker(envWithoutDatabase({ PORT: String(port), CONSTELLATION_DATA_DIR: fresh }));
      const { code } = await proc.exited;
      expect(code).toBe(1);
      expect(proc.output()).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
      expect(proc.output()).not.toMatch(/admin token|successfully started|listening on/i);
      // No database was started and no token made for a broker that could not serve.
      expect(existsSync(path.join(fresh, 'pg'))).toBe(false);
      expect(existsSync(path.join(fresh, 'admin-token'))).toBe(false);
    } finally {
      blocker.close();
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ['PORT', 'abc', 'invalid configuration: PORT must be an integer from 0 to 65535'],
    [
      'DATABASE_URL',
      'not-a-url',
      'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    ],
    [
      'CONSTELLATION_POLICY',
      'fastest',
      'invalid configuration: CONSTELLATION_POLICY must be one of ect, random',
    ],
  ])(
    'stops with a one-line message when %s=%s',
    async (name, value, message) => {
      const proc = spawnBroker(envWithoutDatabase({ [name]: value, CONSTELLATION_DATA_DIR: dataDir }));
      const { code } = await proc.exited;
      expect(code).toBe(2);
      const lines = proc.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(proc.output()).not.toContain(value);
    },
    60_000,
  );
});
