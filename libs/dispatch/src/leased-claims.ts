import type { ProbeTarget, SiteHealthRepository } from '@constellation/registry';
import type { DispatchTask, Phase, TaskLeaseRepository } from '@constellation/tes';
import { claimEach } from './bounded-workers';

/**
 * Rows a replica works on under a lease, whatever the row: a task in one phase (submission, tracking, delivery,
 * cancellation) or a site due for its probe. Each kind keeps its SQL with the library that owns its table; the
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
