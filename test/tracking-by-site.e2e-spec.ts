import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesRequest, type FakeTesSite } from '@constellation/testing';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { TrackingRepository } from '../libs/dispatch/src/tracking.repository';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { registerSiteUp, startDispatchApp } from './support/dispatch-suite';
import { waitFor } from './support/wait-for';

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
  track_interval_ms: number | null;
  in_s: number;
  xmin: string;
}

describe('tracking a TES site by site: one list walk per round, quiet checks written in batches', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let siteId: string;
  let ids: string[];
  let db: DataSource;

  const rows = async (): Promise<TrackedRow[]> =>
    db.query(
      `SELECT id, version, claimed_by, track_interval_ms, xmin::text AS xmin,
              extract(epoch FROM next_check_at - now())::float8 AS in_s
       FROM task WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
  /** Sets the tasks' next checks `offsets` seconds from now, in turn, and their back-off to 4 s. */
  const dueIn = (offsets: number[]) =>
    db.query(
      `UPDATE task SET next_check_at = now() + make_interval(secs => o.s), track_interval_ms = 4000
       FROM unnest($1::uuid[], $2::float8[]) AS o(id, s) WHERE task.id = o.id`,
      [ids, ids.map((_, i) => offsets[i % offsets.length])],
    );

  beforeAll(async () => {
    // Rounds driven by the test; a long tracking interval, so a task checked once is not due again soon.
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0', CONSTELLATION_TRACK_SECONDS: '30' });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    // Held QUEUED at the site: every check after the first finds nothing new.
    site = await startFakeTesSite({ stepDelayMs: 5, hold: true });
    ({ id: siteId } = await registerSiteUp(
      t,
      admin,
      admin,
      siteDocument({
        kind: 'tes',
        url: site.url,
        credentials: null,
        capacity: { max_concurrent_tasks: 100 },
      }),
    ));
    const { slug } = (await db.query('SELECT slug FROM site WHERE id = $1', [siteId]))[0] as { slug: string };
    ids = [];
    for (let i = 0; i < TASKS; i++) {
      const { body } = await tes(t.url, admin)
        .create({ executors: [{ image: 'alpine', command: ['true'] }], resources: { zones: [slug] } })
        .expect(200);
      ids.push(body.id as string);
    }
    const loop = t.app.get(DispatchLoop);
    await waitFor(`all ${TASKS} tasks submitted and checked once`, async () => {
      await loop.tick();
      const [{ n }]: { n: number }[] = await db.query(
        `SELECT count(*)::integer AS n FROM task
         WHERE id = ANY($1::uuid[]) AND remote_id IS NOT NULL AND remote_state IS NOT NULL`,
        [ids],
      );
      return n === TASKS ? true : undefined;
    });
  });
  afterAll(async () => {
    await t?.close();
    await site?.close();
  });

  it('asks once for tasks due at different times, and writes the unchanged ones in one statement', async () => {
    const loop = t.app.get(DispatchLoop);
    // A third due now, a third in 2 s, a third in 20 s: once claims of due tasks, three list walks.
    await dueIn([-1, 2, 20]);
    const before = await rows();
    const sent = site.requests().length;
    const round = await loop.tick();
    const calls = site.requests().slice(sent);
    expect(round.tracked).toBe(TASKS);
    expect(listWalks(calls)).toHaveLength(1);
    expect(taskReads(calls)).toEqual([]);

    const after = await rows();
    // The quiet path: no new version, the claim freed, the back-off doubled from 4 s.
    expect(after.map((r) => r.version)).toEqual(before.map((r) => r.version));
    expect(after.every((r) => r.claimed_by === null && r.track_interval_ms === 8000)).toBe(true);
    expect(Math.min(...after.map((r) => r.in_s))).toBeGreaterThan(6);
    // Rows written by one statement (one transaction) share its transaction id; one write each would not.
    expect(new Set(after.map((r) => r.xmin)).size).toBe(1);

    // Nothing is due now: more rounds ask nothing.
    const quiet = site.requests().length;
    for (let i = 0; i < 3; i++) await loop.tick();
    expect(
      site
        .requests()
        .slice(quiet)
        .filter((c) => c.method === 'GET'),
    ).toEqual([]);

    // One task falls due: the site is asked once more, and all its tasks are followed from that answer.
    await db.query(`UPDATE task SET next_check_at = now() WHERE id = $1`, [ids[0]]);
    const again = site.requests().length;
    const next = await loop.tick();
    expect(next.tracked).toBe(TASKS);
    expect(listWalks(site.requests().slice(again))).toHaveLength(1);
    expect(taskReads(site.requests().slice(again))).toEqual([]);
  });

  it('lets only one of two replicas claiming a listed site at once take its tasks, and none beyond the interval', async () => {
    const repo = t.app.get(TrackingRepository);
    // Five tasks fall due after the 30-s tracking interval: they are not taken.
    await dueIn([-1, -1, -1, -1, -1, 60]);
    const how = { soonMs: 30_000, limit: 10_000, exclusive: true };
    const now = new Date();
    const [a, b] = await Promise.all([
      repo.claimSite(siteId, 'replica-a', now, 30, how),
      repo.claimSite(siteId, 'replica-b', now, 30, how),
    ]);
    const taken = a.length > 0 ? a : b;
    expect([a.length, b.length].sort((x, y) => x - y)).toEqual([0, TASKS - 5]);
    // The other replica, coming after: nothing of the site is due any more.
    expect(await repo.claimSite(siteId, 'replica-c', new Date(), 30, how)).toEqual([]);

    // A cancel request lands while the site is asked: the batch leaves that row to be decided again.
    const holder = a.length > 0 ? 'replica-a' : 'replica-b';
    const canceled = taken[0].task.id;
    await tes(t.url, admin).cancel(canceled).expect(200);
    const written = await repo.writeQuiet(
      holder,
      taken.map(({ task, version }) => ({
        id: task.id,
        version,
        nextCheckAt: new Date(Date.now() + 30_000),
        trackIntervalMs: 8000,
        remoteState: 'QUEUED',
      })),
    );
    expect(written.size).toBe(TASKS - 6);
    expect(written.has(canceled)).toBe(false);
    const [row] = (await db.query(`SELECT state, claimed_by FROM task WHERE id = $1`, [canceled])) as {
      state: string;
      claimed_by: string;
    }[];
    expect(row).toEqual({ state: 'CANCELING', claimed_by: holder });
  });
});
