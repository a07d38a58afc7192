import { loadRatio, minBy, PlaceableSite, Policy } from '../policy';

const byTotal = (a: PlaceableSite, b: PlaceableSite): number =>
  a.candidate.totalS - b.candidate.totalS ||
  a.candidate.wanBytes - b.candidate.wanBytes ||
  loadRatio(a.site) - loadRatio(b.site);

/**
 * Estimated completion time: queue wait + input transfer + run time at the site's learned speed. Equal
 * totals prefer less data over the WAN, then the emptier site, then the lower id, so the choice never
 * depends on the order sites come in.
 *
 * Sites where the task can start at once come first: the queue-wait term is the least certain of the three
 * (it rests on a throughput learned from a heavy-tailed mix), and trading an idle core now for a promised
 * faster finish later lost in the simulator at every load. When no site can start it now, the task is held
 * in the broker for up to the best site's estimated wait: bound late, it goes to whichever site frees room
 * first (one pooled queue waits less than many partitioned ones), and the bound keeps a large task from
 * being overtaken for ever. Without `queuedAt` it is never held.
 */
export const ectPolicy: Policy = ({ placeable, task, now }) => {
  const startNow = minBy(
    placeable.filter((p) => p.candidate.queueWaitS === 0),
    byTotal,
  );
  if (startNow !== undefined) return startNow;
  const best = minBy(placeable, byTotal);
  if (best === undefined) return undefined;
  const waited = task.queuedAt === undefined ? Number.POSITIVE_INFINITY : now - task.queuedAt;
  return waited < best.candidate.queueWaitS ? undefined : best;
};
