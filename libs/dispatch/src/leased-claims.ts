import type { ProbeTarget, SiteHealthRepository } from '@constellation/registry';
import type {
  ClaimedCheck,
  DispatchTask,
  OverdueQueued,
  Phase,
  TaskLeaseRepository,
  TaskTrackingRepository,
} from '@constellation/tes';
import { claimEach } from './bounded-workers';
import type { AbandonedCopy, AbandonedCopyRepository } from './abandoned-copy.repository';
import type { TrackingRepository } from './tracking.repository';

/**
 * Rows a replica works on under a lease, whatever the row: a task in one phase (submission, delivery,
 * cancellation), a site's walk or its due tasks (tracking), a task a site pushed news about, an abandoned copy
 * or a site due for its probe. Each kind keeps its SQL with the library that owns its table; the
 * lease rules are the same for all: a claim names the replica and skips rows another replica holds, a replica
 * that dies hands its rows on when the lease runs out, and one that stops early hands them back at once.
 */
export interface LeasedClaims<T> {
  /** Claims one due row for this replica, its lease starting now; undefined when none is due. */
  claim(): Promise<T | undefined>;
  /** Extends the lease on a row this replica holds; false once the claim is no longer its own. */
  renew(row: T): Promise<boolean>;
  /** Hands a held row back, due at once, so another replica need not wait out the lease. */
  release(row: T): Promise<void>;
}

/** The lease on one claimed row, as the work on that row sees it. */
export interface HeldLease {
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/** The lease `claims` holds on `row`, for work that claimed it outside the loop below. */
export function leaseOf<T>(claims: LeasedClaims<T>, row: T): HeldLease {
  return { renew: () => claims.renew(row), release: () => claims.release(row) };
}

/**
 * The one claim loop: `concurrency` workers each claim a row just before working on it, until nothing is due
 * or `limit` rows were taken. A failed row is reported and left to its lease. How many rows were taken.
 */
export function workEachClaimed<T>(
  claims: LeasedClaims<T>,
  concurrency: number,
  limit: number,
  work: (row: T, lease: HeldLease) => Promise<void>,
  onError: (row: T, err: unknown) => void,
): Promise<number> {
  return claimEach(
    () => claims.claim(),
    concurrency,
    limit,
    (row) => work(row, leaseOf(claims, row)),
    onError,
  );
}

/** Tasks due in one phase; leases run on the database's clock. */
export function taskClaims(
  repo: TaskLeaseRepository,
  phase: Phase,
  replica: string,
  leaseSeconds: number,
): LeasedClaims<DispatchTask> {
  return {
    claim: async () => (await repo.claim(phase, replica, new Date(), leaseSeconds, 1))[0],
    renew: (task) => repo.renewLease(task.id, replica, leaseSeconds),
    release: (task) => repo.releaseClaim(task.id, replica),
  };
}

/**
 * Sites due for a probe at `now` (an argument, so tests can step time), each at most once per round: a site
 * probed in this round is not claimed again even if a zero interval made it due at once. `only` limits the
 * claims to one site (a probe an admin action asked for).
 */
export function probeClaims(
  health: SiteHealthRepository,
  replica: string,
  leaseSeconds: number,
  now: Date,
  only: string | null = null,
): LeasedClaims<ProbeTarget> {
  const seen: string[] = [];
  // A lease runs from when its claim is made, not from when the round began.
  const at = () => new Date(Math.max(now.getTime(), Date.now()));
  return {
    claim: async () => {
      const [target] = await health.claimDue(replica, at(), leaseSeconds, 1, seen, only);
      if (target) seen.push(target.id);
      return target;
    },
    renew: (target) => health.renewProbe(target.id, replica, at(), leaseSeconds),
    release: (target) => health.releaseProbe(target.id, replica, at()),
  };
}

/** A listed site's walk, claimed: its back-off so far (null before its first walk). */
export interface SiteWalk {
  siteId: string;
  intervalMs: number | null;
}

/**
 * The walks of these listed sites (TES), in order, each claimed only when due and no other replica walks it;
 * a site this replica cannot claim is passed over. The walk's SQL is TrackingRepository's: dispatch owns
 * `site_tracking`.
 */
export function siteWalkClaims(
  tracked: Pick<TrackingRepository, 'claimWalk' | 'renewWalk' | 'releaseWalk'>,
  replica: string,
  leaseSeconds: number,
  siteIds: readonly string[],
): LeasedClaims<SiteWalk> {
  const left = [...siteIds];
  return {
    claim: async () => {
      for (let siteId = left.shift(); siteId !== undefined; siteId = left.shift()) {
        const walk = await tracked.claimWalk(siteId, replica, new Date(), leaseSeconds);
        if (walk) return { siteId, intervalMs: walk.intervalMs };
      }
      return undefined;
    },
    renew: (walk) => tracked.renewWalk(walk.siteId, replica, leaseSeconds),
    release: (walk) => tracked.releaseWalk(walk.siteId, replica),
  };
}

/** A site asked per task, with its due tasks claimed together for one status call. */
export interface SiteChecks {
  siteId: string;
  checks: ClaimedCheck[];
}

/**
 * The due tasks of these sites asked per task (Pulsar REST, or a site gone from the registry), up to `limit`
 * a site, one site at a time in order; a site with none free and due is passed over. Renewal holds only while
 * every task of the claim is still this replica's.
 */
export function siteCheckClaims(
  tracked: Pick<TaskTrackingRepository, 'claimSite'>,
  repo: Pick<TaskLeaseRepository, 'renewLease' | 'defer'>,
  replica: string,
  leaseSeconds: number,
  sites: readonly { siteId: string; dueBy: Date }[],
  limit: number,
): LeasedClaims<SiteChecks> {
  const left = [...sites];
  return {
    claim: async () => {
      for (let site = left.shift(); site !== undefined; site = left.shift()) {
        const checks = await tracked.claimSite(site.siteId, replica, site.dueBy, leaseSeconds, limit);
        if (checks.length > 0) return { siteId: site.siteId, checks };
      }
      return undefined;
    },
    renew: async ({ checks }) =>
      (await Promise.all(checks.map(({ task }) => repo.renewLease(task.id, replica, leaseSeconds)))).every(
        Boolean,
      ),
    release: ({ checks }) =>
      repo.defer(
        replica,
        checks.map(({ task }) => ({ id: task.id, at: new Date() })),
      ),
  };
}

/** Why a pushed update claimed no task: its lease is held elsewhere, or no unfinished task has the ref. */
export type PushMiss = 'busy' | 'none';

/**
 * The task a site pushed news about (its attempt known there as `ref`), claimed at once, due or not. Once
 * the claim found none, `missed` says why.
 */
export function pushedClaims(
  repo: Pick<TaskLeaseRepository, 'claimPushed' | 'renewLease' | 'releaseClaim'>,
  ref: string,
  replica: string,
  leaseSeconds: number,
): LeasedClaims<DispatchTask> & { missed(): PushMiss | undefined } {
  let claimed: DispatchTask[] | null = null;
  let missed: PushMiss | undefined;
  return {
    claim: async () => {
      if (claimed === null) {
        const found = await repo.claimPushed(ref, replica, leaseSeconds);
        if (typeof found === 'string') missed = found;
        claimed = typeof found === 'string' ? [] : found;
      }
      return claimed.shift();
    },
    renew: (task) => repo.renewLease(task.id, replica, leaseSeconds),
    release: (task) => repo.releaseClaim(task.id, replica),
    missed: () => missed,
  };
}

/**
 * Abandoned copies due at sites other than `offlineSiteIds` (a dead site costs nothing until a probe finds it
 * up again).
 */
export function abandonedCopyClaims(
  copies: Pick<AbandonedCopyRepository, 'claim' | 'renew' | 'release'>,
  replica: string,
  leaseSeconds: number,
  offlineSiteIds: readonly string[],
): LeasedClaims<AbandonedCopy> {
  return {
    claim: async () => (await copies.claim(replica, new Date(), leaseSeconds, 1, offlineSiteIds))[0],
    renew: (copy) => copies.renew(copy.id, replica, leaseSeconds),
    release: (copy) => copies.release(copy.id, replica),
  };
}

/**
 * Tasks queued at their site past the wait their placement expected (the take-back step's), each claimed as
 * a task is, under the task's own lease.
 */
export function overdueQueuedClaims(
  repo: Pick<TaskLeaseRepository, 'claimOverdueQueued' | 'renewLease' | 'releaseLook'>,
  replica: string,
  leaseSeconds: number,
  rule: Parameters<TaskLeaseRepository['claimOverdueQueued']>[3],
): LeasedClaims<OverdueQueued> {
  return {
    claim: async () => (await repo.claimOverdueQueued(replica, leaseSeconds, 1, rule))[0],
    renew: ({ task }) => repo.renewLease(task.id, replica, leaseSeconds),
    release: ({ task }) => repo.releaseLook(task.id, replica),
  };
}
