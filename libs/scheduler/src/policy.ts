import { StoreBytes } from './estimate';
import { Prng } from './prng';
import { ResolvedResources } from './requirements';
import { Candidate, CostModel, SiteSnapshot, TaskRequirement } from './snapshot';

export const POLICY_NAMES = [
  'ect',
  'random',
  'round-robin',
  'least-loaded',
  'locality',
  'tpv-broker',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
export const DEFAULT_POLICY: PolicyName = 'ect';

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/** State a policy may carry between placements, owned by the caller so the policy stays a pure function. */
export interface PolicyContext {
  prng: Prng;
  /** The site round-robin chose last; the next placement starts after it. */
  lastRoundRobinSiteId?: string;
}

/**
 * A site the task can go to now and its candidate's terms. Placement reuses these from one placement to the
 * next (see findings.ts): a policy reads them while it runs and keeps none of them.
 *
 * The exact queue wait of a site that cannot start the task now needs a search through its running tasks'
 * ends; placement does it only when the policy reads the candidate's `queueWaitS` or `totalS`. A policy that
 * needs few of them asks `startsNow` and `totalFloorS` first, which cost nothing more.
 */
export interface PlaceableSite {
  site: SiteSnapshot;
  candidate: Candidate;
  /** The candidate's queue wait is 0. */
  readonly startsNow: boolean;
  /** At most the candidate's `totalS`, and equal to it when `startsNow`. */
  readonly totalFloorS: number;
}

export interface PolicyInput {
  /** The request's time, seconds since the epoch. */
  now: number;
  task: TaskRequirement;
  resources: ResolvedResources;
  groups: readonly StoreBytes[];
  model: CostModel;
  /** Feasible sites that can take the task now, in ascending id order. */
  placeable: readonly PlaceableSite[];
}

/** The task keeps waiting and reserves this site's next free room (backfill; see SiteReservation). */
export interface Reserve {
  reserve: PlaceableSite;
  startAt: number;
}

/** Chooses one of the placeable sites, or a site to reserve, or undefined to keep the task waiting. */
export type Policy = (input: PolicyInput, ctx: PolicyContext) => PlaceableSite | Reserve | undefined;

/** Share of the site the broker's tasks hold: cores when it knows them, admission slots otherwise. */
export function loadRatio(site: SiteSnapshot): number {
  const cores = site.capacity.totals?.cores;
  const claimed = site.load.claimed;
  if (cores !== undefined && cores > 0 && claimed !== undefined) return claimed.cores / cores;
  return (site.load.running + site.load.queued) / Math.max(1, site.capacity.maxConcurrentTasks);
}

/** Picks the minimum under `compare`; ties not settled by it fall to the lower site id (input order). */
export function minBy(
  placeable: readonly PlaceableSite[],
  compare: (a: PlaceableSite, b: PlaceableSite) => number,
): PlaceableSite | undefined {
  let best: PlaceableSite | undefined;
  for (const p of placeable) {
    if (best === undefined || compare(p, best) < 0) best = p;
  }
  return best;
}
