import { Client } from 'pg';
import { BROKER_APPLICATION_NAME } from '../libs/persistence/src/data-source-options';
import { createPrincipal, TestPrincipal } from './support/principals';
import { startPgProxy, PgProxy } from './support/pg-proxy';
import { MINIMAL_TASK, tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

// Several seconds of load on a shared machine: more than jest's default 5 s.
jest.setTimeout(60_000);

const CREATES = 300;
const CONCURRENCY = 16;

/**
 * Terminates every connection of the broker to the run's database again and again, as a
 * PostgreSQL failover or an operator's pg_terminate_backend does, until stopped; counts what it ended.
 */
function startKiller(url: string): { stop(): Promise<number> } {
  const client = new Client({ connectionString: url });
  let stopping = false;
  let terminated = 0;
  const loop = (async () => {
    await client.connect();
    while (!stopping) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1`,
        [BROKER_APPLICATION_NAME],
      );
      terminated += rows[0].n;
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 100));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return terminated;
    },
  };
}

async function send(url: string, init: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text() };
}

describe('transient database errors', () => {
  let t: TestApp;
  let alice: TestPrincipal;
  let db: Client;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await createPrincipal(t, 'submitter');
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('answers every create and get with 200 while the broker connections are terminated, storing each task once', async () => {
    const killer = startKiller(process.env.DATABASE_URL as string);
    const failures: string[] = [];
    const ids: string[] = [];
    let next = 0;
    const headers = { Authorization: alice.bearer, 'Content-Type': 'application/json' };
    const worker = async (): Promise<void> => {
      while (next < CREATES) {
        const n = next++;
        const created = await send(`${t.url}/ga4gh/tes/v1/tasks`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ ...MINIMAL_TASK, name: `burst-${n}` }),
        });
        if (created.status !== 200) {
          failures.push(`create ${n}: ${created.status} ${created.body}`);
          continue;
        }
        const { id } = JSON.parse(created.body) as { id: string };
        ids.push(id);
        const got = await send(`${t.url}/ga4gh/tes/v1/tasks/${id}`, { headers });
        if (got.status !== 200) failures.push(`get ${n}: ${got.status} ${got.body}`);
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      const terminated = await killer.stop();
      // The test means something only if connections were really taken from under the broker.
      expect(terminated).toBeGreaterThanOrEqual(20);
    }
    expect(failures).toEqual([]);
    expect(ids).toHaveLength(CREATES);
    expect(new Set(ids).size).toBe(CREATES);

    const { rows } = await db.query<{ tasks: number; names: number; events: number }>(
      `SELECT count(*)::int AS tasks, count(DISTINCT name)::int AS names,
              (SELECT count(*)::int FROM task_event e JOIN task t ON t.id = e.task_id WHERE t.submitter_id = $1) AS events
       FROM task WHERE submitter_id = $1`,
      [alice.id],
    );
    expect(rows[0]).toEqual({ tasks: CREATES, names: CREATES, events: CREATES });
  });
});

describe('through a faulty connection to PostgreSQL', () => {
  let proxy: PgProxy;
  let viaProxy: TestApp;
  let bob: TestPrincipal;
  let db: Client;

  beforeAll(async () => {
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    proxy = await startPgProxy(process.env.DATABASE_URL as string);
    viaProxy = await startTestApp({ DATABASE_URL: proxy.url });
    bob = await createPrincipal(viaProxy, 'submitter');
  });
  afterAll(async () => {
    await viaProxy?.close();
    await proxy?.close();
    await db?.end();
  });

  const storedFor = async (name: string) =>
    (
      await db.query<{ tasks: number; events: number }>(
        `SELECT count(*)::int AS tasks,
                (SELECT count(*)::int FROM task_event e JOIN task t ON t.id = e.task_id
                 WHERE t.submitter_id = $1 AND t.name = $2) AS events
         FROM task WHERE submitter_id = $1 AND name = $2`,
        [bob.id, name],
      )
    ).rows[0];

  it('answers 200 to a create whose COMMIT answer was lost, and stores the task once', async () => {
    // The create's statement commits, then its connection drops before the broker hears back. The create is
    // one statement whose last part reads back the rows the submitter's inline-content quota refused: none
    // here, so its tag is `SELECT 0` (the request's token lookup before it answers `SELECT 1`).
    proxy.dropAnswerAfterCommit(/^SELECT 0$/);
    const res = await tes(viaProxy.url, bob)
      .create({ ...MINIMAL_TASK, name: 'lost-answer' })
      .expect(200);
    expect(proxy.dropped()).toBe(1);
    expect(await storedFor('lost-answer')).toEqual({ tasks: 1, events: 1 });
    const got = await tes(viaProxy.url, bob).get(res.body.id).expect(200);
    expect(got.body).toEqual({ id: res.body.id, state: 'QUEUED' });
  });

  it('answers 200 to a keyed create whose COMMIT answer was lost with the task the key names, stored once', async () => {
    proxy.dropAnswerAfterCommit(/^COMMIT$/);
    const before = proxy.dropped();
    const create = () =>
      tes(viaProxy.url, bob)
        .create({ ...MINIMAL_TASK, name: 'lost-keyed-answer' })
        .set('Idempotency-Key', 'lost-commit-key');
    const res = await create().expect(200);
    expect(proxy.dropped()).toBe(before + 1);
    expect(await storedFor('lost-keyed-answer')).toEqual({ tasks: 1, events: 1 });
    expect((await create().expect(200)).body).toEqual({ id: res.body.id });
    expect(await storedFor('lost-keyed-answer')).toEqual({ tasks: 1, events: 1 });
  });

  it('answers 503 with Retry-After once the retries are spent, and 200 again when the database is back', async () => {
    proxy.refuseAll(true);
    try {
      const res = await tes(viaProxy.url, bob)
        .create({ ...MINIMAL_TASK, name: 'database-down' })
        .expect(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        message: 'the database is unavailable for the moment; retry the request shortly',
        request_id: expect.any(String),
      });
    } finally {
      proxy.refuseAll(false);
    }
    expect(await storedFor('database-down')).toEqual({ tasks: 0, events: 0 });
    await tes(viaProxy.url, bob)
      .create({ ...MINIMAL_TASK, name: 'database-down' })
      .expect(200);
    expect(await storedFor('database-down')).toEqual({ tasks: 1, events: 1 });
  });
});
