import { DataSource } from 'typeorm';
import { TaskLeaseRepository } from '@constellation/tes';
import type { FakeTesSite } from '@constellation/testing';
import { createPrincipal, type TestPrincipal } from './support/principals';
import { registerFakeTesSite, startDispatchApp } from './support/dispatch-suite';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';

jest.setTimeout(60_000);

/** Overdue after max(2 x the expected queue wait + transfer, 10 s); two take-backs at most; looked at every 30 s. */
const RULE = { factor: 2, floorS: 10, maxTakeBacks: 2, lookSeconds: 30 };

interface Shape {
  name: string;
  /** Seconds since the placement was decided. */
  ago: number;
  /** The chosen candidate's queue wait and transfer. */
  waitS?: number;
  transferS?: number;
  state?: string;
  remoteState?: string | null;
  takeBacks?: number;
  /** Seconds since the take-back step last looked (null: never). */
  lookedAgo?: number | null;
  /** Another replica holds the task's lease. */
  leased?: boolean;
  /** The placement record names another site than the task's (a record of an earlier attempt). */
  staleRecord?: boolean;
  claimed: boolean;
}

const SHAPES: Shape[] = [
  { name: 'past the floor, short wait expected', ago: 20, waitS: 2, transferS: 1, claimed: true },
  { name: 'within the floor', ago: 8, waitS: 0, transferS: 0, claimed: false },
  {
    name: 'past the floor, within factor x wait + transfer',
    ago: 20,
    waitS: 10,
    transferS: 5,
    claimed: false,
  },
  { name: 'past factor x wait + transfer', ago: 40, waitS: 10, transferS: 5, claimed: true },
  { name: 'the site said it started', ago: 40, remoteState: 'RUNNING', claimed: false },
  { name: 'the site said INITIALIZING', ago: 40, remoteState: 'INITIALIZING', claimed: false },
  { name: 'the site never reported', ago: 40, remoteState: null, claimed: false },
  { name: 'the broker saw it start', ago: 40, state: 'RUNNING', remoteState: 'RUNNING', claimed: false },
  { name: 'taken back once', ago: 40, takeBacks: 1, claimed: true },
  { name: 'taken back twice already', ago: 40, takeBacks: 2, claimed: false },
  { name: 'judged 5 s ago', ago: 40, lookedAgo: 5, claimed: false },
  { name: 'judged 60 s ago', ago: 120, lookedAgo: 60, claimed: true },
  { name: "another replica's lease", ago: 40, leased: true, claimed: false },
  { name: 'placement record of another site', ago: 40, staleRecord: true, claimed: false },
];

/**
 * Which tasks the take-back step claims (TaskLeaseRepository.claimOverdueQueued, the SQL form of
 * overdueAtSite plus the look interval and the lease), on rows shaped by hand; dispatch is off.
 */
describe('take-back claims', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: { fake: FakeTesSite; id: string; slug: string };
  let db: DataSource;

  beforeAll(async () => {
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0' });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    site = await registerFakeTesSite(t, admin, admin);
  });
  afterAll(async () => {
    await t?.close();
    await site?.fake.close();
  });

  /** A task pinned to the site, as a create leaves it. */
  async function created(): Promise<string> {
    const { body } = await tes(t.url, admin)
      .create({ executors: [{ image: 'alpine', command: ['true'] }], resources: { zones: [site.slug] } })
      .expect(200);
    return body.id as string;
  }

  /** Gives the task `id` the shape `s`, its times counted back from now on the database's clock. */
  async function shape(id: string, s: Shape): Promise<void> {
    const chosen = s.staleRecord ? '00000000-0000-4000-8000-000000000000' : site.id;
    const placement = {
      site_id: chosen,
      candidates: [
        { siteId: '00000000-0000-4000-8000-000000000001', queueWaitS: 0, transferS: 0 },
        { siteId: chosen, queueWaitS: s.waitS ?? 0, transferS: s.transferS ?? 0 },
      ],
    };
    await db.query(
      `UPDATE task SET state = $2, site_id = $3, remote_id = $4, current_attempt = 1, remote_state = $5,
              take_backs = $6, next_check_at = clock_timestamp() + interval '1 hour',
              placement = $7::jsonb || jsonb_build_object('decided_at', clock_timestamp() - make_interval(secs => $8)),
              take_back_looked_at = clock_timestamp() - make_interval(secs => $9),
              claimed_by = $10, lease_until = CASE WHEN $10::text IS NULL THEN NULL
                                                   ELSE clock_timestamp() + interval '1 minute' END
       WHERE id = $1`,
      [
        id,
        s.state ?? 'INITIALIZING',
        site.id,
        `remote-${id}`,
        s.remoteState === undefined ? 'QUEUED' : s.remoteState,
        s.takeBacks ?? 0,
        JSON.stringify(placement),
        s.ago,
        s.lookedAgo ?? null,
        s.leased ? 'another-replica' : null,
      ],
    );
  }

  it('claims exactly the overdue tasks still queued at their site, once per look interval', async () => {
    const ids = new Map<string, Shape>();
    // Every task created first, then all shaped: 'within the floor' is 8 s of the 10 s floor, and the creates
    // that followed its shaping (HTTP, slow on a loaded machine) would age it toward the floor before the claim.
    const made: string[] = [];
    for (let i = 0; i < SHAPES.length; i++) made.push(await created());
    for (const [i, s] of SHAPES.entries()) {
      await shape(made[i], s);
      ids.set(made[i], s);
    }
    const repo = t.app.get(TaskLeaseRepository);
    const claimed = await repo.claimOverdueQueued('replica-a', 30, 100, RULE);
    const mine = claimed.filter((c) => ids.has(c.task.id));
    expect(mine.map((c) => ids.get(c.task.id)?.name).sort()).toEqual(
      SHAPES.filter((s) => s.claimed)
        .map((s) => s.name)
        .sort(),
    );
    const past = mine.find((c) => ids.get(c.task.id)?.name === 'past factor x wait + transfer');
    expect(past?.expectedWaitS).toBe(15);
    expect(Date.now() - (past?.decidedAt.getTime() ?? 0)).toBeGreaterThanOrEqual(40_000);
    expect(past?.placement).toMatchObject({ site_id: site.id });
    // The claim is the replica's, and marks the look: released, the task is not claimed again for 30 s.
    for (const c of mine) await repo.releaseLook(c.task.id, 'replica-a');
    const again = await repo.claimOverdueQueued('replica-b', 30, 100, RULE);
    expect(again.filter((c) => ids.has(c.task.id))).toEqual([]);
    const rows: { id: string; next_check_at: Date; claimed_by: string | null }[] = await db.query(
      `SELECT id, next_check_at, claimed_by FROM task WHERE id = ANY($1::uuid[])`,
      [mine.map((c) => c.task.id)],
    );
    // Released without moving the task's next check (an hour away, as set above).
    for (const r of rows) {
      expect(r.claimed_by).toBeNull();
      expect(r.next_check_at.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    }
  });
});
