import { DataSource } from 'typeorm';
import { type FakeTesRequest, type FakeTesSite } from '@constellation/testing';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { TrackingRepository } from '../libs/dispatch/src/tracking.repository';
import { TrackingService } from '../libs/dispatch/src/tracking.service';
import { TaskTrackingRepository } from '@constellation/tes';
import { createPrincipal, TestPrincipal } from './support/principals';
import { TestApp } from './support/test-app';
import { startDispatchApp } from './support/dispatch-suite';
import { startWalkedTesSite } from './support/walked-tes-site';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

const TASKS = 24;
/** Each exchange with a site is bounded by half a lease (2 s here); a slow list page takes 1.2 s of it. */
const LEASE_SECONDS = 4;
const PAGE_MS = 1200;
/** Tasks a page of the site's list: a walk of all of them takes 6 pages, 7 s or more, beyond its lease. */
const PAGE_SIZE = 4;

const listPages = (calls: FakeTesRequest[]) =>
  calls.filter((c) => c.method === 'GET' && c.path === '/ga4gh/tes/v1/tasks');

interface WalkRow {
  claimed_by: string | null;
  walk_interval_ms: number;
  /** Seconds until the lease ends, on the database's clock (negative once it ran out). */
  lease_in_s: number | null;
}

describe('a TES site walk longer than its lease', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let siteId: string;
  let ids: string[];
  let db: DataSource;

  const rows = async (): Promise<{ id: string; xmin: string }[]> =>
    db.query(`SELECT id, xmin::text AS xmin FROM task WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
  const walkRow = async (): Promise<WalkRow> =>
    (
      (await db.query(
        `SELECT claimed_by, walk_interval_ms, extract(epoch FROM lease_until - now())::float8 AS lease_in_s
         FROM site_tracking WHERE site_id = $1`,
        [siteId],
      )) as WalkRow[]
    )[0];
  let walkDue: () => Promise<void>;
  /** Starts a round whose walk of the site is slow, and waits until the walk asked for its first page. */
  const slowWalk = async (): Promise<{ round: Promise<unknown> }> => {
    const sent = site.requests().length;
    site.slow(PAGE_MS);
    const round = t.app.get(DispatchLoop).tick();
    await waitFor('the walk asking the site', async () =>
      listPages(site.requests().slice(sent)).length > 0 ? true : undefined,
    );
    // Wrapped: an async function would wait for a promise it returns.
    return { round: round.finally(() => site.slow(0)) };
  };

  beforeAll(async () => {
    t = await startDispatchApp({
      CONSTELLATION_DISPATCH_SECONDS: '0',
      CONSTELLATION_TRACK_SECONDS: '30',
      CONSTELLATION_LEASE_SECONDS: String(LEASE_SECONDS),
    });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    ({ site, siteId, ids, walkDue } = await startWalkedTesSite(t, admin, TASKS, { maxPageSize: PAGE_SIZE }));
  });
  // A test that failed mid-walk leaves its walk to end before the next one starts its own.
  afterEach(() => t.app.get(TrackingService).settled());
  afterAll(async () => {
    await t?.close();
    await site?.close();
  });

  it('keeps its lease while it runs: a second replica claiming the walk meanwhile gets nothing', async () => {
    const repo = t.app.get(TrackingRepository);
    await walkDue();
    const { round } = await slowWalk();
    let walked = false;
    void round.then(() => (walked = true));
    const first = await walkRow();
    expect(first.claimed_by).not.toBeNull();
    // Past the end of the lease the walk was claimed with, and the walk still under way.
    await new Promise((r) => setTimeout(r, (first.lease_in_s as number) * 1000 + 1000));
    expect(walked).toBe(false);
    const held = await walkRow();
    expect(held.claimed_by).toBe(first.claimed_by);
    expect(held.lease_in_s).toBeGreaterThan(0);
    expect(await repo.claimWalk(siteId, 'replica-b', new Date(), 30)).toBeNull();

    await round;
    // The walk ended as a quiet walk does: claim freed, back-off doubled.
    expect(await walkRow()).toMatchObject({ claimed_by: null, walk_interval_ms: 8000 });
  });

  it('backs off after failing part way, as after a walk that found nothing new, and frees its claim', async () => {
    await walkDue();
    // The walk asked the site, then lost its database connection before writing.
    const spy = jest
      .spyOn(t.app.get(TaskTrackingRepository), 'writeQuiet')
      .mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    try {
      await t.app.get(DispatchLoop).tick();
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    const [walk]: { claimed_by: string | null; walk_interval_ms: number; due_in_s: number }[] =
      await db.query(
        `SELECT claimed_by, walk_interval_ms, extract(epoch FROM next_walk_at - now())::float8 AS due_in_s
       FROM site_tracking WHERE site_id = $1`,
        [siteId],
      );
    // 4 s doubled, within CONSTELLATION_TRACK_SECONDS (30): a fault that fails every walk does not have the
    // site listed every half second, and the site is walked again within the interval once it has passed.
    expect(walk).toMatchObject({ claimed_by: null, walk_interval_ms: 8000 });
    expect(walk.due_in_s).toBeGreaterThan(6);
    expect(walk.due_in_s).toBeLessThanOrEqual(8.5);
  });

  it('writes nothing once its lease was taken over, and leaves the walk to its new holder', async () => {
    // Due on its own (as just submitted): a walk that finishes writes this row to leave it to the walk.
    await db.query(`UPDATE task SET next_check_at = now() - interval '1 second' WHERE id = $1`, [ids[0]]);
    await walkDue();
    const before = await rows();
    const { round } = await slowWalk();
    // Another replica took the walk over (this one's lease ran out while it stalled, say).
    await db.query(
      `UPDATE site_tracking SET claimed_by = 'replica-b', lease_until = now() + interval '30 seconds'
       WHERE site_id = $1`,
      [siteId],
    );
    await round;
    expect(await rows()).toEqual(before);
    expect(await walkRow()).toMatchObject({ claimed_by: 'replica-b', walk_interval_ms: 4000 });
  });
});
