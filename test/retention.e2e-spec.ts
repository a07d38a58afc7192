import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { MetricsService } from '@constellation/observability';
import { PURGE_BATCH, TaskPurgeService } from '../libs/tes/src/task-purge.service';
import { PURGE_LOCK_KEY, TaskPurgeRepository } from '../libs/tes/src/task-purge.repository';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { MINIMAL_TASK, tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

const DAY = 86_400_000;

describe('retention purge', () => {
  let t: TestApp;
  let db: DataSource;
  let alice: TestPrincipal;
  let purge: TaskPurgeService;
  const now = new Date();
  const ago = (ms: number) => new Date(now.getTime() - ms);
  // A database of its own: a purge takes every finished task and Idempotency-Key of the database past its age,
  // and the tests count what it took. Other suites leave keys behind that age past 24 hours during the run (a
  // key tes-idempotency makes 23 h 59 min old is purgeable a minute later).
  const own = OwnDatabase.besideRun('retention');

  /** Stores a task as the broker would have, created and last changed at the given times, with `events` events. */
  async function seed(state: string, createdAt: Date, updatedAt: Date, events = 2): Promise<string> {
    const id = uuidv7({ msecs: createdAt.getTime() });
    await db.query(
      `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version)
       VALUES ($1, $2, 'seeded', $3, $4, '{}', $5, $6, 2)`,
      [id, alice.id, state, JSON.stringify(MINIMAL_TASK), createdAt, updatedAt],
    );
    for (let i = 0; i < events; i++) {
      await db.query(
        `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, attempt, reason)
         VALUES ($1, $2, $3, NULL, $4, 0, 'seeded')`,
        [uuidv7({ msecs: createdAt.getTime() + i }), id, createdAt, i === 0 ? 'QUEUED' : state],
      );
    }
    return id;
  }

  const exists = async (ids: string[]): Promise<{ tasks: number; events: number }> => {
    const [row] = (await db.query(
      `SELECT (SELECT count(*)::int FROM task WHERE id = ANY($1::uuid[])) AS tasks,
              (SELECT count(*)::int FROM task_event WHERE task_id = ANY($1::uuid[])) AS events`,
      [ids],
    )) as Array<{ tasks: number; events: number }>;
    return row;
  };

  beforeAll(async () => {
    await own.create();
    t = await startTestApp({ DATABASE_URL: own.url, CONSTELLATION_RETENTION_DAYS: '30' });
    db = t.app.get(DataSource);
    purge = t.app.get(TaskPurgeService);
    alice = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
    await own.drop();
  });
  // Each test counts only what it seeded.
  beforeEach(async () => {
    await db.query('DELETE FROM task WHERE submitter_id = $1', [alice.id]);
  });

  it('purges tasks finished longer ago than the retention, with their events and keys; keeps the rest', async () => {
    const old = [];
    for (const state of ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']) {
      old.push(await seed(state, ago(40 * DAY), ago(31 * DAY)));
    }
    // A key that still names an old task (made by hand: keys live a day) must go with its task.
    await db.query(
      `INSERT INTO task_idempotency_key (principal_id, key, request_hash, task_id, created_at)
       VALUES ($1, 'names-an-old-task', '\\x00', $2, now())`,
      [alice.id, old[0]],
    );
    const kept = [
      // Created long ago but finished recently.
      await seed('COMPLETE', ago(40 * DAY), ago(29 * DAY)),
      // Not finished, however old.
      await seed('QUEUED', ago(40 * DAY), ago(40 * DAY)),
      await seed('INITIALIZING', ago(40 * DAY), ago(35 * DAY)),
      await seed('RUNNING', ago(40 * DAY), ago(35 * DAY)),
      await seed('CANCELING', ago(40 * DAY), ago(35 * DAY)),
    ];
    const fresh = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
    await db.query(`UPDATE task SET state = 'COMPLETE', updated_at = now() WHERE id = $1`, [fresh.body.id]);
    kept.push(fresh.body.id as string);

    expect(await purge.run(now)).toEqual({ tasks: 5, events: 10, idempotencyKeys: 0, more: false });

    expect(await exists(old)).toEqual({ tasks: 0, events: 0 });
    expect(
      await db.query('SELECT count(*)::int AS n FROM task_idempotency_key WHERE principal_id = $1', [
        alice.id,
      ]),
    ).toEqual([{ n: 0 }]);
    expect(await exists(kept)).toEqual({ tasks: 6, events: 11 });
    // A purged task is gone from the API as well; a kept one is still there.
    await tes(t.url, alice).get(old[0]).expect(404);
    await tes(t.url, alice).get(fresh.body.id).expect(200);
    // Nothing left to purge: a second run removes nothing.
    expect(await purge.run(now)).toEqual({ tasks: 0, events: 0, idempotencyKeys: 0, more: false });
  });

  it('purges in batches of PURGE_BATCH until none is left', async () => {
    const total = PURGE_BATCH * 2 + 17;
    const created = ago(60 * DAY);
    // Ids spread over the creation day, as a busy day would have made them.
    const ids = Array.from({ length: total }, (_, i) => uuidv7({ msecs: created.getTime() + i * 1000 }));
    await db.query(
      `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version)
       SELECT id, $2, 'bulk', 'COMPLETE', '{}', '{}', $3, $4, 2 FROM unnest($1::uuid[]) AS id`,
      [ids, alice.id, created, ago(45 * DAY)],
    );
    await db.query(
      `INSERT INTO task_event (id, task_id, created_at, to_state, attempt, reason)
       SELECT gen_random_uuid(), id, $2, 'COMPLETE', 0, '' FROM unnest($1::uuid[]) AS id`,
      [ids, created],
    );
    const keep = await seed('RUNNING', ago(60 * DAY), ago(50 * DAY));
    expect(await purge.run(now)).toEqual({ tasks: total, events: total, idempotencyKeys: 0, more: false });
    expect(await exists(ids)).toEqual({ tasks: 0, events: 0 });
    expect(await exists([keep])).toEqual({ tasks: 1, events: 2 });
  });

  it('forgets Idempotency-Keys older than 24 hours, keeping their tasks and younger keys', async () => {
    const res = await request('expired-key');
    const young = await request('young-key');
    await db.query(
      `UPDATE task_idempotency_key SET created_at = now() - interval '24 hours 1 minute'
       WHERE principal_id = $1 AND key = 'expired-key'`,
      [alice.id],
    );
    await db.query(
      `UPDATE task_idempotency_key SET created_at = now() - interval '23 hours'
       WHERE principal_id = $1 AND key = 'young-key'`,
      [alice.id],
    );
    expect(await purge.run(new Date())).toEqual({ tasks: 0, events: 0, idempotencyKeys: 1, more: false });
    const keys = (await db.query(
      'SELECT key FROM task_idempotency_key WHERE principal_id = $1 ORDER BY key',
      [alice.id],
    )) as Array<{
      key: string;
    }>;
    expect(keys.map((k) => k.key)).toEqual(['young-key']);
    expect(await exists([res, young])).toEqual({ tasks: 2, events: 2 });
  });

  it('keeps finished tasks for ever when CONSTELLATION_RETENTION_DAYS is unset, still forgetting old keys', async () => {
    const old = await seed('COMPLETE', ago(3650 * DAY), ago(3650 * DAY));
    await request('old-key');
    await db.query(
      `UPDATE task_idempotency_key SET created_at = now() - interval '2 days' WHERE principal_id = $1`,
      [alice.id],
    );
    const unlimited = new TaskPurgeService(
      t.app.get(TaskPurgeRepository),
      { ...t.config, retentionDays: undefined },
      new MetricsService(),
    );
    expect(await unlimited.run(now)).toEqual({ tasks: 0, events: 0, idempotencyKeys: 1, more: false });
    expect(await exists([old])).toEqual({ tasks: 1, events: 2 });
  });

  it('lets one replica purge at a time: a run while another holds the lock removes nothing', async () => {
    const old = await seed('COMPLETE', ago(40 * DAY), ago(40 * DAY));
    // Advisory locks are the database's: the lock is taken on the suite's own.
    const other = new Client({ connectionString: own.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [PURGE_LOCK_KEY]);
      expect(await purge.run(now)).toBeNull();
      expect(await exists([old])).toEqual({ tasks: 1, events: 2 });
      await other.query('SELECT pg_advisory_unlock($1)', [PURGE_LOCK_KEY]);
      expect(await purge.run(now)).toEqual({ tasks: 1, events: 2, idempotencyKeys: 0, more: false });
    } finally {
      await other.end();
    }
  });

  it('counts what it removed in /metrics', async () => {
    await seed('CANCELED', ago(40 * DAY), ago(40 * DAY), 3);
    const before = await purgedRows();
    await purge.run(now);
    const after = await purgedRows();
    expect(after.task - before.task).toBe(1);
    expect(after.task_event - before.task_event).toBe(3);
  });

  /** Creates a task through the API with an Idempotency-Key; returns its id. */
  async function request(key: string): Promise<string> {
    const res = await fetch(`${t.url}/ga4gh/tes/v1/tasks`, {
      method: 'POST',
      headers: { Authorization: alice.bearer, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ ...MINIMAL_TASK, name: `${key}-${randomUUID()}` }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  }

  async function purgedRows(): Promise<Record<string, number>> {
    const text = await (await fetch(`${t.url}/metrics`, { headers: { Authorization: alice.bearer } })).text();
    const counts: Record<string, number> = { task: 0, task_event: 0, task_idempotency_key: 0 };
    for (const m of text.matchAll(/^constellation_purged_rows_total\{table="(\w+)"\} (\d+)$/gm)) {
      counts[m[1]] = Number(m[2]);
    }
    return counts;
  }
});
