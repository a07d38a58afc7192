import { coreEquivalents, localDensity } from '../locality-price';
import { loadRatio, minBy, PlaceableSite, Policy, Reserve } from '../policy';
import { ResolvedResources } from '../requirements';

const byTotal = (a: PlaceableSite, b: PlaceableSite): number =>
  a.candidate.totalS - b.candidate.totalS ||
  a.candidate.wanBytes - b.candidate.wanBytes ||
  loadRatio(a.site) - loadRatio(b.site);

/** Share of a priced site (cores and memory) that must stay free after it takes a task the price is against. */
export const LOCAL_RESERVE_SHARE = 0.5;

/** How long a task that earned a full priced site waits for it, in multiples of the transfer it would save. */
export const LOCAL_HOLD_FACTOR = 1;

/** The site has a locality price and the task saves fewer input bytes per core-second there than it. */
export function reservedAgainst(p: PlaceableSite, res: ResolvedResources, inputBytes: number): boolean {
  const price = p.site.performance.localityPrice ?? 0;
  if (price <= 0) return false;
  const saved = inputBytes - p.candidate.wanBytes;
  return localDensity(saved, coreEquivalents(p.site, res.cores, res.memoryGib), p.candidate.runS) < price;
}

/**
 * Share of the site that would stay free after taking the task: the smaller of the free core and free memory
 * shares; 1 when the broker does not know the totals.
 */
export function headroomAfter(p: PlaceableSite, res: ResolvedResources): number {
  const totals = p.site.capacity.totals;
  const claimed = p.site.load.claimed;
  if (totals?.cores === undefined || totals.cores <= 0 || claimed === undefined) return 1;
  let share = (totals.cores - claimed.cores - res.cores) / totals.cores;
  if (totals.memoryGib !== undefined && totals.memoryGib > 0) {
    share = Math.min(share, (totals.memoryGib - claimed.memoryGib - res.memoryGib) / totals.memoryGib);
  }
  return share;
}

/**
 * Smallest share of a site (cores or memory) a task must take for its hold to end in a reservation rather
 * than a commitment to the best queue. Backfill protects a large task from small ones that keep taking the
 * room it needs; a small task finds room soon in any case, and its reservation only kept the room it would
 * have used idle for others (documented-nodes@0.9 lost to least-loaded with reservations for every task).
 */
export const RESERVE_MIN_SHARE = 0.25;

/** The larger of the shares of the site's cores and memory the task takes; 1 when the totals are unknown. */
export function siteShare(p: PlaceableSite, res: ResolvedResources): number {
  const totals = p.site.capacity.totals;
  if (totals?.cores === undefined || totals.cores <= 0) return 1;
  const memory =
    totals.memoryGib !== undefined && totals.memoryGib > 0 ? res.memoryGib / totals.memoryGib : 0;
  return Math.max(res.cores / totals.cores, memory);
}

/**
 * `p` ranks before `best` (byTotal). A site whose lower bound of the total is already above the best total
 * cannot, so its exact queue wait is not needed (the search through its running tasks' ends is skipped).
 */
function better(p: PlaceableSite, best: PlaceableSite | undefined): boolean {
  if (best === undefined) return true;
  if (p.totalFloorS > best.candidate.totalS) return false;
  return byTotal(p, best) < 0;
}

/**
 * A task whose hold ran out reserves the best site no other task has reserved (keeping its own reservation's
 * start, so backfill cannot push it back): it stays in the broker's pooled queue and binds to whichever site
 * can start it first, while tasks expected to finish before the reservation starts still use the gap. Without
 * a site left to reserve it is committed to the best site's queue, as before reservations.
 */
function reserveOrCommit(
  placeable: readonly PlaceableSite[],
  taskId: string,
  now: number,
  best: PlaceableSite,
  res: ResolvedResources,
): PlaceableSite | Reserve {
  if (siteShare(best, res) < RESERVE_MIN_SHARE) return best;
  let open: PlaceableSite | undefined;
  for (const p of placeable) {
    const r = p.site.load.reservation;
    if (r !== undefined && r.taskId !== taskId) continue;
    if (better(p, open)) open = p;
  }
  if (open === undefined) return best;
  const own = open.site.load.reservation;
  return { reserve: open, startAt: own?.taskId === taskId ? own.startAt : now + open.candidate.queueWaitS };
}

/**
 * Estimated completion time: queue wait + input transfer + run time at the site's learned speed. Equal
 * totals prefer less data over the WAN, then the emptier site, then the lower id, so the choice never
 * depends on the order sites come in.
 *
 * Sites where the task can start at once come first: the queue-wait term is the least certain of the three
 * (it rests on a throughput learned from a heavy-tailed mix), and trading an idle core now for a promised
 * faster finish later lost in the simulator at every load.
 *
 * Scarce local capacity: a site with a locality price (`performance.localityPrice`, bytes per core-second)
 * keeps its cores for the tasks that save at least that many input bytes per core-second by running there.
 * A task below the price may use it only while half of it (cores and memory) stays free after it
 * (`LOCAL_RESERVE_SHARE`), so a dense task arriving later finds room. A priced site local to the task's data
 * that it may use and that can start it now is chosen before any other site. A task that earns a full priced
 * site waits for it in the broker up to the transfer time the best free site would need
 * (`LOCAL_HOLD_FACTOR`), then goes to that site. A task that only priced sites could take waits at most the
 * default run time for room elsewhere.
 *
 * When no site can start the task now, it is held in the broker for up to the best site's estimated wait:
 * bound late, it goes to whichever site frees room first (one pooled queue waits less than many partitioned
 * ones), and the bound keeps a large task from being overtaken for ever. Without `queuedAt` it is never
 * held.
 */
export const ectPolicy: Policy = ({ placeable, task, now, resources, groups, model }) => {
  const waitedS = task.queuedAt === undefined ? Number.POSITIVE_INFINITY : now - task.queuedAt;
  if (!placeable.some((p) => (p.site.performance.localityPrice ?? 0) > 0)) {
    // No priced site (the common case): plain completion time, without the allocations below. The sites that
    // can start the task now decide alone when there are any, and their totals are exact without a search.
    let startNow: PlaceableSite | undefined;
    let startNowTotal = 0;
    for (const p of placeable) {
      if (!p.startsNow) continue;
      // byTotal(p, startNow) < 0 without reading startNow's total again: the totals' difference decides
      // unless it is 0 or NaN, as in byTotal.
      const total = p.totalFloorS;
      const d = total - startNowTotal;
      if (startNow === undefined || d < 0 || (!(d > 0) && byTotal(p, startNow) < 0)) {
        startNow = p;
        startNowTotal = total;
      }
    }
    if (startNow !== undefined) return startNow;
    let best: PlaceableSite | undefined;
    for (const p of placeable) if (better(p, best)) best = p;
    if (best === undefined || waitedS < best.candidate.queueWaitS) return undefined;
    return reserveOrCommit(placeable, task.id, now, best, resources);
  }
  let inputBytes = 0;
  for (const g of groups) inputBytes += g.bytes;
  const waited = waitedS;
  const usable = placeable.filter(
    (p) =>
      !reservedAgainst(p, resources, inputBytes) ||
      (p.candidate.queueWaitS === 0 && headroomAfter(p, resources) >= LOCAL_RESERVE_SHARE),
  );
  const free = usable.filter((p) => p.candidate.queueWaitS === 0);
  // Priced sites local to the task's data that it may use (it earns the price, or half of the site stays free
  // after it): they come first, so the bytes stay off the WAN whenever they can start it now.
  const earned = usable.filter(
    (p) => (p.site.performance.localityPrice ?? 0) > 0 && p.candidate.wanBytes < inputBytes,
  );
  const earnedFree = minBy(
    earned.filter((p) => p.candidate.queueWaitS === 0),
    byTotal,
  );
  if (earnedFree !== undefined) return earnedFree;
  const bestFree = minBy(free, byTotal);
  if (bestFree !== undefined) {
    // Its local site is full: waiting for it up to the transfer time it saves costs about what moving the
    // data would, and keeps the bytes off the WAN.
    if (earned.length > 0 && waited < bestFree.candidate.transferS * LOCAL_HOLD_FACTOR) return undefined;
    return bestFree;
  }
  const best = minBy(usable, byTotal);
  if (best === undefined) {
    // Only priced sites are left and their reserve is not for this task: it waits, at most the default run
    // time, for room elsewhere, so a task that can run nowhere else is not held for ever.
    const fallback = minBy(placeable, byTotal);
    return fallback === undefined || waited < Math.max(fallback.candidate.queueWaitS, model.defaultRunS)
      ? undefined
      : fallback;
  }
  return waited < best.candidate.queueWaitS ? undefined : best;
};
