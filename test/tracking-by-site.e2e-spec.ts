import { DataSource } from 'typeorm';
import { type FakeTesRequest, type FakeTesSite } from '@constellation/testing';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { TrackingRepository } from '../libs/dispatch/src/tracking.repository';
import { SITE_PACED_AT } from '../libs/dispatch/src/track-pacing';
import { TaskTrackingRepository } from '../libs/tes/src/task-tracking.repository';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { startDispatchApp } from './support/dispatch-suite';
import { startWalkedTesSite } from './support/walked-tes-site';

jest.setTimeout(90_000);

const TASKS = 30;

/** Walks of the site's task list: a walk starts with the page asked for without a page token. */
const listWalks = (calls: FakeTesRequest[]) =>
  calls.filter(
    (c) =>
      c.method === 'GET' &&
      c.path === '/ga4gh/tes/v1/tasks' &&
      !new URLSearchParams(c.query).has('page_token'),
  );
const taskReads = (calls: FakeTesRequest[]) => calls.filter((c) => /\/tasks\/[^/]+$/.test(c.path));

interface TrackedRow {
  id: string;
  version: number;
  claimed_by: string | null;
  site_paced: boolean;
  xmin: string;
}

describe('tracking a TES site as a whole: one walk per site and round, no task row written by a quiet check', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let siteId: string;
  let ids: string[];
  let db: DataSource;

  const rows = async (): Promise<TrackedRow[]> =>
    db.query(
      `SELECT id, version, claimed_by, xmin::text AS xmin, next_check_at >= '9999-01-01' AS site_paced
       FROM task WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
  const walkRow = async () =>
    (
      (await db.query(
        `SELECT claimed_by, walk_interval_ms, extract(epoch FROM next_walk_at - now())::float8 AS in_s
         FROM site_tracking WHERE site_id = $1`,
        [siteId],
      )) as { claimed_by: string | null; walk_interval_ms: number; in_s: number }[]
    )[0];
  let walkDue: () => Promise<void>;

  beforeAll(async () => {
    // Rounds driven by the test; a long tracking interval, so a site walked once is not due again soon.
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0', CONSTELLATION_TRACK_SECONDS: '30' });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    ({ site, siteId, ids, walkDue } = await startWalkedTesSite(t, admin, TASKS));
  });
  afterAll(async () => {
    await t?.close();
    await site?.close();
  });

  it('walks the site once when its walk is due, writes no task row, and backs the walk off', async () => {
    const loop = t.app.get(DispatchLoop);
    await walkDue();
    const before = await rows();
    const sent = site.requests().length;
    const round = await loop.tick();
    const calls = site.requests().slice(sent);
    expect(round.tracked).toBe(TASKS);
    expect(listWalks(calls)).toHaveLength(1);
    expect(taskReads(calls)).toEqual([]);
    // Not a single task row was written: every row keeps the transaction id of its last write.
    expect(await rows()).toEqual(before);
    const walked = await walkRow();
    expect(walked).toMatchObject({ claimed_by: null, walk_interval_ms: 8000 });
    expect(walked.in_s).toBeGreaterThan(6);

    // Nothing is due now: more rounds ask nothing. The probe loop reads the site's service-info every second
    // meanwhile (FAST_DISPATCH): that GET is no round's.
    const quiet = site.requests().length;
    for (let i = 0; i < 3; i++) await loop.tick();
    expect(
      site
        .requests()
        .slice(quiet)
        .filter((c) => c.method === 'GET' && c.path !== '/ga4gh/tes/v1/service-info'),
    ).toEqual([]);
  });

  it('brings the walk forward for a task due on its own, writing that row alone and walking again soon', async () => {
    const loop = t.app.get(DispatchLoop);
    // As a submission leaves a task: due in its own right, not yet left to the walk.
    await db.query(`UPDATE task SET next_check_at = now() - interval '1 second' WHERE id = $1`, [ids[0]]);
    const before = await rows();
    const sent = site.requests().length;
    const round = await loop.tick();
    expect(round.tracked).toBe(TASKS);
    expect(listWalks(site.requests().slice(sent))).toHaveLength(1);
    const after = await rows();
    expect(after.filter((r, i) => r.xmin !== before[i].xmin).map((r) => r.id)).toEqual([ids[0]]);
    // Quiet for clients (no new version), and now covered by the walk, which comes again in 0.5 s.
    expect(after.map((r) => r.version)).toEqual(before.map((r) => r.version));
    expect(after.every((r) => r.site_paced && r.claimed_by === null)).toBe(true);
    expect(await walkRow()).toMatchObject({ walk_interval_ms: 500 });
  });

  it('lets one of two replicas walk a site at a time, and hands the walk on when its holder died', async () => {
    const repo = t.app.get(TrackingRepository);
    await walkDue();
    const now = new Date();
    const [a, b] = await Promise.all([
      repo.claimWalk(siteId, 'replica-a', now, 30),
      repo.claimWalk(siteId, 'replica-b', now, 30),
    ]);
    expect([a, b].filter((c) => c !== null)).toEqual([{ intervalMs: 4000 }]);
    expect(await repo.claimWalk(siteId, 'replica-c', new Date(), 30)).toBeNull();

    // The holder dies mid-walk: while its lease holds no other replica walks the site ...
    const loop = t.app.get(DispatchLoop);
    const sent = site.requests().length;
    expect((await loop.tick()).tracked).toBe(0);
    expect(listWalks(site.requests().slice(sent))).toEqual([]);
    // ... and once it ran out, the next round walks it, the claim freed after.
    await db.query(`UPDATE site_tracking SET lease_until = now() - interval '1 second' WHERE site_id = $1`, [
      siteId,
    ]);
    expect((await loop.tick()).tracked).toBe(TASKS);
    expect(listWalks(site.requests().slice(sent))).toHaveLength(1);
    expect((await walkRow()).claimed_by).toBeNull();
  });

  it("claims only the changed tasks still as the walk read them: a cancel request meanwhile is the cancel step's", async () => {
    const repo = t.app.get(TaskTrackingRepository);
    const read = await repo.siteTasks(siteId, 100, SITE_PACED_AT);
    expect(read).toHaveLength(TASKS);
    const canceled = read[0].id;
    await tes(t.url, admin).cancel(canceled).expect(200);
    const changed = read.slice(0, 3).map(({ id, version }) => ({ id, version }));
    const claimed = await repo.claimChanged('replica-a', 30, changed);
    expect(claimed.map((c) => c.task.id).sort()).toEqual(
      changed
        .slice(1)
        .map((c) => c.id)
        .sort(),
    );
    const [row] = (await db.query(`SELECT state, claimed_by FROM task WHERE id = $1`, [canceled])) as {
      state: string;
      claimed_by: string | null;
    }[];
    expect(row.state).toBe('CANCELING');
    expect(row.claimed_by).not.toBe('replica-a');
    // A quiet write of rows read, not claimed, leaves the claimed ones to their holder.
    const written = await repo.writeQuiet(
      null,
      read.slice(0, 5).map(({ id, version }) => ({
        id,
        version,
        nextCheckAt: new Date('9999-12-31T00:00:00Z'),
        trackIntervalMs: null,
        remoteState: 'QUEUED',
      })),
    );
    expect([...written].sort()).toEqual(
      read
        .slice(3, 5)
        .map(({ id }) => id)
        .sort(),
    );
  });
});
