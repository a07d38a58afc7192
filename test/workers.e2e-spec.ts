import * as net from 'node:net';
import { generateToken } from '../libs/auth/src/token-codec';
import { spawnBroker, waitForOk } from './support/broker-process';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The pids of the workers that said they were listening, from the start-up lines. */
function workerPids(output: string): number[] {
  return output
    .split('\n')
    .filter((l) => l.includes('"context":"startup"') && l.includes('Constellation listening'))
    .map((l) => (JSON.parse(l) as { pid: number }).pid);
}

function requestCount(metrics: string, route: string): number {
  const line = metrics
    .split('\n')
    .find((l) =>
      l.startsWith(
        `constellation_http_request_duration_seconds_count{method="GET",route="${route}",status="200"}`,
      ),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('CONSTELLATION_WORKERS=2 (several server processes)', () => {
  it('serves from every worker, counts all of them in /metrics, replaces a dead worker and stops cleanly', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const token = generateToken();
    const broker = spawnBroker({
      ...process.env,
      PORT: String(port),
      CONSTELLATION_WORKERS: '2',
      CONSTELLATION_ADMIN_TOKEN: token,
      CONSTELLATION_DISPATCH_SECONDS: '0',
      CONSTELLATION_PROBE_SECONDS: '0',
      LOG_LEVEL: 'info',
    });
    try {
      await waitForOk(`${base}/health/ready`, 90_000, broker);
      const until = Date.now() + 60_000;
      while (workerPids(broker.output()).length < 2 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 200));
      const [first, second] = workerPids(broker.output());
      expect(first).not.toBe(second);
      expect(broker.output()).toContain('started 2 workers');

      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}/ga4gh/tes/v1/tasks`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ executors: [{ image: 'alpine', command: ['true'] }] }),
      });
      const { id } = (await created.json()) as { id: string };
      // Separate connections, so Node's cluster spreads them over both workers; each sees the shared state.
      const gets = await Promise.all(
        Array.from({ length: 30 }, () =>
          fetch(`${base}/ga4gh/tes/v1/tasks/${id}`, { headers: { ...auth, connection: 'close' } }),
        ),
      );
      expect(gets.map((r) => r.status)).toEqual(Array(30).fill(200));

      const scrape = async () =>
        (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
      for (let i = 0; i < 4; i++) {
        // Whichever worker answers, the count is the cluster's.
        expect(requestCount(await scrape(), '/ga4gh/tes/v1/tasks/:id')).toBe(30);
      }

      process.kill(first, 'SIGKILL');
      // While its replacement starts, a scrape still answers, from the workers that are running.
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).status).toBe(200);
      const replaced = Date.now() + 60_000;
      while (workerPids(broker.output()).length < 3 && Date.now() < replaced)
        await new Promise((r) => setTimeout(r, 200));
      expect(broker.output()).toMatch(/worker \d+ stopped \(SIGKILL\); starting a new one/);
      expect(workerPids(broker.output())).toHaveLength(3);
      const after = await fetch(`${base}/ga4gh/tes/v1/tasks/${id}?view=MINIMAL`, { headers: auth });
      expect(await after.json()).toEqual({ id, state: 'QUEUED' });
    } finally {
      broker.child.kill('SIGTERM');
    }
    expect(await broker.exited).toEqual({ code: 0, signal: null });
    expect(broker.output()).toContain('SIGTERM received: stopping the workers');
  }, 180_000);
});
