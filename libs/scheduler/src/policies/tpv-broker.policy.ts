import { storeDistanceKm } from '../estimate';
import { PlaceableSite, Policy } from '../policy';
import { SiteSnapshot } from '../snapshot';

/** TPV Broker divides by its medians; a zero median (tasks start at once) must not turn every score infinite. */
const MIN_MEDIAN_S = 1;

function unclaimedFits(site: SiteSnapshot, cores: number, memoryGib: number): boolean {
  const totals = site.capacity.totals;
  const claimed = site.load.claimed;
  if (totals === undefined || claimed === undefined) return true;
  if (totals.cores !== undefined && totals.cores - claimed.cores < cores) return false;
  if (totals.memoryGib !== undefined && totals.memoryGib - claimed.memoryGib < memoryGib) return false;
  return true;
}

/** 1/(median queue time x queued) + 1/(median run time x running); an empty term is infinite, as in Python. */
export function tpvBrokerScore(site: SiteSnapshot, defaultS: number): number {
  const medianQueue = Math.max(MIN_MEDIAN_S, site.performance.medianQueueS ?? defaultS);
  const medianRun = Math.max(MIN_MEDIAN_S, site.performance.medianRunS ?? defaultS);
  const queued = site.load.queued;
  const running = site.load.running;
  const q = queued === 0 ? Number.POSITIVE_INFINITY : 1 / (medianQueue * queued);
  const r = running === 0 ? Number.POSITIVE_INFINITY : 1 / (medianRun * running);
  return q + r;
}

/**
 * The published scoring of the European Pulsar Network's TPV Broker (Azab et al. 2025), with the queued and
 * running counters the right way round: keep sites with unclaimed cores and memory for the request, order
 * them by distance from the object store holding the task's data, then stably by score, highest first.
 * Galaxy always routes a job somewhere, so when no site has unclaimed room every placeable site stays in.
 */
export const tpvBrokerPolicy: Policy = ({ placeable, resources, groups, model }) => {
  if (placeable.length === 0) return undefined;
  const withRoom = placeable.filter((p) => unclaimedFits(p.site, resources.cores, resources.memoryGib));
  const pool = withRoom.length > 0 ? withRoom : placeable;
  const main = groups.reduce<(typeof groups)[number] | undefined>(
    (best, g) => (best === undefined || g.bytes > best.bytes ? g : best),
    undefined,
  );
  const ranked = pool.map((p: PlaceableSite) => ({
    p,
    distance: main === undefined ? 0 : storeDistanceKm(main, p.site, model),
    score: tpvBrokerScore(p.site, model.defaultRunS),
  }));
  ranked.sort((a, b) => {
    if (a.score !== b.score) return b.score > a.score ? 1 : -1;
    return a.distance - b.distance;
  });
  return ranked[0].p;
};
