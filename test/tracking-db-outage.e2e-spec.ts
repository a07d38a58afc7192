import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import { type FakeTesRequest, type FakeTesSite } from '@constellation/testing';
import { TaskTrackingRepository } from '@constellation/tes';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { TrackingRepository } from '../libs/dispatch/src/tracking.repository';
import { TrackingService } from '../libs/dispatch/src/tracking.service';
import { createPrincipal, TestPrincipal } from './support/principals';
import { startPgProxy, type PgProxy } from './support/pg-proxy';
import { TestApp } from './support/test-app';
import { startDispatchApp } from './support/dispatch-suite';
import { startWalkedTesSite } from './support/walked-tes-site';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

const TASKS = 12;
const LEASE_SECONDS = 4;
/** Each exchange with a site is bounded by half a lease (2 s): a slow page takes 1.5 s of it. */
const PAGE_MS = 1500;
/** Tasks a page of the site's list: a walk of all of them takes 6 pages, 9 s, beyond its lease. */
const PAGE_SIZE = 2;
/**
 * The outage: past the end of the lease the walk held when the database went (4 s at most), and over while
 * that walk still reads the site's pages (9 s), so it comes back to a database where its lease has ended.
 */
const OUTAGE_MS = (LEASE_SECONDS + 2) * 1000;

const listPages = (calls: FakeTesRequest[]) =>
  calls.filter((c) => c.method === 'GET' && c.path === '/ga4gh/tes/v1/tasks');

/** A call to the walk's claims, when it returned, by which replica, and what it answered. */
interface Call {
  at: number;
  replica: string;
  ok: boolean;
}

/** A write of the site's tasks (claims included): when, and when the walk that made it started. */
interface Write {
  at: number;
  walkStartedAt: number | undefined;
}

/** One replica: when it handed the site's walk back, and its writes of the site's tasks. */
interface Replica {
  replica: string;
  releases: number[];
  writes: Write[];
}

/**
 * The walk each write comes from. Once the database is back, the replica whose walk stalled may claim the site
 * again and walk it anew while the stalled walk still waits out its calls to the database: a write of that
 * new walk is the replica's, but not the stalled walk's.
 */
const walkOf = new AsyncLocalStorage<{ startedAt: number }>();

describe('a TES site walk cut off from its database mid-walk', () => {
  let proxy: PgProxy;
  let t: TestApp;
  /** A second replica on the same database, through the same proxy: it may take the walk over. */
  let second: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let siteId: string;
  let ids: string[];
  /** The test's own connection, not through the proxy: it sees the database while the broker does not. */
  let db: Client;
  const claims: Call[] = [];
  const renewals: Call[] = [];
  const replicas: Replica[] = [];

  beforeAll(async () => {
    proxy = await startPgProxy(process.env.DATABASE_URL as string);
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const settings = {
      DATABASE_URL: proxy.url,
      CONSTELLATION_DISPATCH_SECONDS: '0.1',
      CONSTELLATION_TRACK_SECONDS: '1',
      CONSTELLATION_LEASE_SECONDS: String(LEASE_SECONDS),
    };
    t = await startDispatchApp(settings);
    second = await startDispatchApp(settings);
    admin = await createPrincipal(t, 'admin');
    ({ site, siteId, ids } = await startWalkedTesSite(t, admin, TASKS, { maxPageSize: PAGE_SIZE }));
    // Every claim and renewal of the site's walk, with what it answered: whether a lease outlived the outage.
    for (const app of [t, second]) {
      const seen: Replica = { replica: app.app.get(DispatchLoop).replica, releases: [], writes: [] };
      replicas.push(seen);
      const repo = app.app.get(TrackingRepository);
      const claimWalk = repo.claimWalk.bind(repo);
      const renewWalk = repo.renewWalk.bind(repo);
      const releaseWalk = repo.releaseWalk.bind(repo);
      jest.spyOn(repo, 'claimWalk').mockImplementation(async (...args) => {
        const claim = await claimWalk(...args);
        if (args[0] === siteId) claims.push({ at: Date.now(), replica: args[1], ok: claim !== null });
        return claim;
      });
      jest.spyOn(repo, 'renewWalk').mockImplementation(async (...args) => {
        const held = await renewWalk(...args);
        if (args[0] === siteId) renewals.push({ at: Date.now(), replica: args[1], ok: held });
        return held;
      });
      jest.spyOn(repo, 'releaseWalk').mockImplementation(async (...args) => {
        await releaseWalk(...args);
        if (args[0] === siteId) seen.releases.push(Date.now());
      });
      const tracking = app.app.get(TrackingService) as unknown as Record<
        string,
        (...args: unknown[]) => unknown
      >;
      const walkSite = tracking.walkSite.bind(tracking);
      jest
        .spyOn(tracking, 'walkSite')
        .mockImplementation((...args: unknown[]) =>
          walkOf.run({ startedAt: Date.now() }, () => walkSite(...args)),
        );
      const wrote = () => seen.writes.push({ at: Date.now(), walkStartedAt: walkOf.getStore()?.startedAt });
      const tasks = app.app.get(TaskTrackingRepository);
      const writeQuiet = tasks.writeQuiet.bind(tasks);
      const claimChanged = tasks.claimChanged.bind(tasks);
      const ours = (rows: readonly { id: string }[]) => rows.some((row) => ids.includes(row.id));
      jest.spyOn(tasks, 'writeQuiet').mockImplementation((replica, checks) => {
        if (ours(checks)) wrote();
        return writeQuiet(replica, checks);
      });
      jest.spyOn(tasks, 'claimChanged').mockImplementation((replica, lease, rows) => {
        if (ours(rows)) wrote();
        return claimChanged(replica, lease, rows);
      });
    }
  });
  afterAll(async () => {
    proxy?.refuseAll(false);
    await second?.close();
    await t?.close();
    await site?.close();
    await proxy?.close();
    await db?.end();
  });

  it('lets the lease run out, loses and doubles no task, and sees every final state once the database is back', async () => {
    site.slow(PAGE_MS);
    const sent = site.requests().length;
    await waitFor('a slow walk of the site under way', async () =>
      listPages(site.requests().slice(sent)).length > 0 ? true : undefined,
    );
    const [walk] = (
      await db.query<{ claimed_by: string | null; lease_until: Date | null }>(
        'SELECT claimed_by, lease_until FROM site_tracking WHERE site_id = $1',
        [siteId],
      )
    ).rows;
    expect(walk.claimed_by).not.toBeNull();

    // The database goes away mid-walk; meanwhile every task ends at the site.
    proxy.refuseAll(true);
    const cutAt = Date.now();
    site.release();
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    const during = (
      await db.query<{ lease_until: Date | null }>(
        'SELECT lease_until FROM site_tracking WHERE site_id = $1',
        [siteId],
      )
    ).rows[0];
    // Not renewed while the database was gone: at most what a renewal just before the cut gave it.
    expect((during.lease_until as Date).getTime()).toBeLessThanOrEqual(cutAt + LEASE_SECONDS * 1000 + 1000);
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    const [{ expired }] = (
      await db.query<{ expired: boolean }>(
        'SELECT lease_until < now() AS expired FROM site_tracking WHERE site_id = $1',
        [siteId],
      )
    ).rows;
    expect(expired).toBe(true);
    const pagesDuring = listPages(site.requests().slice(sent)).length;

    proxy.refuseAll(false);
    const backAt = Date.now();
    // The outage is over and so is the site's slowness: at 1.5 s a page, the walk after the outage (its BASIC
    // pages, then the FULL pages of the tasks that finished: 12 in all) takes 18 s on a quiet machine, and a
    // loaded CI machine stretched it past the wait below. The stalled walk's own pages were slow, which is what
    // this test is about.
    site.slow(0);
    await waitFor(
      'every task COMPLETE once the database is back',
      async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM task WHERE id = ANY($1::uuid[]) AND state = 'COMPLETE'`,
          [ids],
        );
        return rows[0].n === TASKS ? true : undefined;
      },
      30_000,
    );

    // The walk that held the lease when the database went never renewed it past its end: every renewal that
    // held after the cut came after a claim of the same replica, made once the database was back.
    const claimedAfter = claims.filter((c) => c.ok && c.at >= backAt);
    expect(claimedAfter.length).toBeGreaterThan(0);
    const heldAfterCut = renewals.filter((r) => r.ok && r.at >= cutAt);
    for (const r of heldAfterCut) {
      const claim = claimedAfter.find((c) => c.replica === r.replica && c.at <= r.at);
      expect({ renewal: r, claim }).toEqual({ renewal: r, claim: expect.anything() });
    }
    // The stalled walk wrote nothing once it was back, and handed the walk back once the database was.
    const stalled = replicas.find((r) => r.replica === walk.claimed_by) as Replica;
    // The other replica can finish the site's tasks before the stalled walk, still waiting out its own calls to the
    // database, gets to hand the walk back.
    const handedBack = await waitFor('the stalled walk handed back', async () =>
      stalled.releases.find((at) => at >= cutAt),
    );
    expect(handedBack).toBeGreaterThanOrEqual(backAt);
    const writes = replicas.flatMap((r) => r.writes);
    // The tasks' final states were written by walks (so each write knows its walk), after the cut.
    expect(writes.filter((w) => w.at >= cutAt && w.walkStartedAt !== undefined).length).toBeGreaterThan(0);
    const byStalledWalk = stalled.writes.filter(
      (w) => w.at >= cutAt && w.walkStartedAt !== undefined && w.walkStartedAt < cutAt,
    );
    expect(byStalledWalk).toEqual([]);
    // The site was walked again after the outage (its pages while cut off are the stalled walk's own).
    expect(listPages(site.requests().slice(sent)).length).toBeGreaterThan(pagesDuring);

    // Nothing lost, nothing written twice: one COMPLETE event per task, every task sent to the site once.
    const { rows: events } = await db.query<{ task_id: string; to_state: string; n: number }>(
      `SELECT task_id, to_state, count(*)::int AS n FROM task_event
       WHERE task_id = ANY($1::uuid[]) AND kind = 'state' GROUP BY task_id, to_state`,
      [ids],
    );
    const completes = events.filter((e) => e.to_state === 'COMPLETE');
    expect(completes.map((e) => e.n)).toEqual(Array(TASKS).fill(1));
    expect(events.filter((e) => e.n > 1)).toEqual([]);
    const creates = site.requests().filter((r) => r.method === 'POST' && r.path === '/ga4gh/tes/v1/tasks');
    expect(creates).toHaveLength(TASKS);
  });
});
