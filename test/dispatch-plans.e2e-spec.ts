import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { runMigrations } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from '../apps/broker/src/schema';
import { FREE, PHASE_FILTER } from '../libs/tes/src/dispatch-task';
import { ATTEMPT_EVENTS_SQL } from '../libs/tes/src/task-change.repository';
import { OwnDatabase } from './support/own-database';

jest.setTimeout(60_000);

/**
 * How PostgreSQL runs the dispatch statements whose cost grows with the tables (bench:dispatch, issue 16): on a
 * database of its own, filled the way a throughput burst leaves it, with the statistics young (never analyzed,
 * as autovacuum leaves a table that grew within the last minute) and then fresh.
 */
describe('dispatch statements on a busy task table', () => {
  const own = new OwnDatabase(
    `${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_dispatch_plans`,
  );
  let c: Client;
  const placed: string[] = [];
  const submitted: string[] = [];

  const plan = async (sql: string, params: unknown[]): Promise<string> =>
    ((await c.query(`EXPLAIN ${sql}`, params)).rows as { 'QUERY PLAN': string }[])
      .map((r) => r['QUERY PLAN'])
      .join('\n');

  beforeAll(async () => {
    await own.create();
    await runMigrations(own.url, ENTITIES, MIGRATIONS);
    c = new Client({ connectionString: own.url });
    await c.connect();
    // Rows as a burst leaves them, without the principals and sites they name (foreign keys not checked): the
    // tasks placed and not yet sent were all due before those sent to their site.
    await c.query('SET session_replication_role = replica');
    for (let i = 0; i < 3_000; i++) (i % 2 === 0 ? placed : submitted).push(randomUUID());
    await c.query(
      `INSERT INTO task (id, submitter_id, state, document, created_at, updated_at, site_id, remote_id,
                         current_attempt, next_check_at, logs, version)
       SELECT id, $3::uuid, 'INITIALIZING', '{"executors":[{"image":"alpine","command":["true"]}]}', now(), now(),
              $3::uuid, CASE WHEN n > $4 THEN 'remote-' || n END, 1, now() - make_interval(secs => 10000 - n), '[]', 2
       FROM unnest($1::uuid[] || $2::uuid[]) WITH ORDINALITY AS t(id, n)`,
      [placed, submitted, randomUUID(), placed.length],
    );
    // Each task's history so far: accepted, placed, and for the submitted ones started.
    await c.query(
      `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, attempt, reason, kind)
       SELECT gen_random_uuid(), id, now(), f, s, CASE WHEN s = 'QUEUED' THEN 0 ELSE 1 END, 'bench', 'state'
       FROM unnest($1::uuid[]) AS t(id),
            unnest(ARRAY[NULL, 'QUEUED', 'INITIALIZING'], ARRAY['QUEUED', 'INITIALIZING', 'RUNNING']) AS e(f, s)`,
      [[...placed, ...submitted]],
    );
    await c.query('SET session_replication_role = DEFAULT');
  });

  afterAll(async () => {
    await c?.end();
    await own.drop();
  });

  const claimSql = `SELECT id FROM task WHERE ${PHASE_FILTER.submit} AND next_check_at <= $1 AND ${FREE}
                    ORDER BY next_check_at LIMIT 26 FOR UPDATE SKIP LOCKED`;
  // TaskLeaseRepository.nextTrackDue's question.
  const nextTrackDueSql = `SELECT next_check_at AS at FROM task WHERE ${PHASE_FILTER.track} AND ${FREE}
                           ORDER BY next_check_at LIMIT 1`;

  describe.each([
    ['young statistics', false],
    ['fresh statistics', true],
  ])('with %s', (_name, analyze) => {
    beforeAll(async () => {
      if (analyze) await c.query('ANALYZE task, task_event');
    });

    it("reads a completion batch's attempt events by task, not the whole of task_event", async () => {
      const batch = submitted.slice(0, 150);
      const shown = await plan(ATTEMPT_EVENTS_SQL, [batch, batch.map(() => 1)]);
      expect(shown).toContain('task_event_task_id_created_at_idx');
      expect(shown).not.toContain('Seq Scan on task_event');
      // The same answer as ever: each attempt's placing and starting events, oldest first.
      const { rows } = await c.query(ATTEMPT_EVENTS_SQL, [batch.slice(0, 2), [1, 1]]);
      expect(rows.map((r: { task_id: string; to_state: string }) => [r.task_id, r.to_state]).sort()).toEqual(
        [
          [batch[0], 'INITIALIZING'],
          [batch[0], 'RUNNING'],
          [batch[1], 'INITIALIZING'],
          [batch[1], 'RUNNING'],
        ].sort(),
      );
    });

    it('claims a submission batch in due order from its index, without reading and sorting the backlog', async () => {
      const shown = await plan(claimSql, [new Date()]);
      expect(shown).toContain('Index Scan using task_submit_due_idx');
      expect(shown).not.toContain('Sort');
      // Oldest due first, only tasks not yet sent.
      const { rows } = await c.query(claimSql, [new Date()]);
      expect(rows.map((r: { id: string }) => r.id)).toEqual(placed.slice(0, 26));
    });

    it('finds when the next tracked task is due without stepping over the tasks not yet sent', async () => {
      const shown = await plan(nextTrackDueSql, []);
      expect(shown).toContain('Index Scan using task_track_due_idx');
      const { rows } = await c.query(`SELECT next_check_at AS at FROM task WHERE id = $1`, [submitted[0]]);
      expect((await c.query(nextTrackDueSql)).rows).toEqual(rows);
    });
  });

  it('keeps room in task pages, so a claim that changes no indexed column is a HOT update', async () => {
    // The first page of the table is as full as inserts leave it; its first row is claimed, as tracking does.
    const [{ id }] = (await c.query(`SELECT id FROM task WHERE ctid = '(0,1)'`)).rows as { id: string }[];
    await c.query('BEGIN');
    try {
      await c.query(
        `UPDATE task SET claimed_by = 'replica', lease_until = clock_timestamp() + interval '30 seconds'
         WHERE id = $1`,
        [id],
      );
      const { rows } = await c.query(
        `SELECT pg_stat_get_xact_tuples_updated('task'::regclass)::int AS updated,
                pg_stat_get_xact_tuples_hot_updated('task'::regclass)::int AS hot`,
      );
      expect(rows[0]).toEqual({ updated: 1, hot: 1 });
    } finally {
      await c.query('ROLLBACK');
    }
  });
});
