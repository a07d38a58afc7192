import { haversineKm, Point, transferSeconds } from './geo';
import { ResolvedResources } from './requirements';
import { CostModel, DataStoreSnapshot, SiteReservation, SiteSnapshot, TaskRequirement } from './snapshot';

/** A task's input bytes grouped by the store they come from. */
export interface StoreBytes {
  storeId: string | undefined;
  location: Point | null;
  bytes: number;
}

export interface Terms {
  queueWaitS: number;
  transferS: number;
  runS: number;
  totalS: number;
  wanBytes: number;
}

export function groupInputsByStore(
  task: TaskRequirement,
  storesById: ReadonlyMap<string, DataStoreSnapshot>,
): StoreBytes[] {
  const groups: StoreBytes[] = [];
  for (const input of task.inputs) {
    if (input.url === undefined || input.sizeBytes <= 0) continue;
    const group = groups.find((g) => g.storeId === input.dataStoreId);
    if (group) {
      group.bytes += input.sizeBytes;
    } else {
      const store = input.dataStoreId !== undefined ? storesById.get(input.dataStoreId) : undefined;
      groups.push({ storeId: input.dataStoreId, location: store ?? null, bytes: input.sizeBytes });
    }
  }
  return groups;
}

/** Distance between a store and a site, or the model's stand-in when either has no coordinates. */
export function storeDistanceKm(group: StoreBytes, site: SiteSnapshot, model: CostModel): number {
  if (group.location === null) return model.unknownDistanceKm;
  return haversineKm(group.location, site) ?? model.unknownDistanceKm;
}

export function isLocal(group: StoreBytes, site: SiteSnapshot, model: CostModel): boolean {
  if (group.storeId !== undefined && site.localDataStoreIds.includes(group.storeId)) return true;
  if (group.location === null) return false;
  const km = haversineKm(group.location, site);
  return km !== null && km <= model.colocationKm;
}

/**
 * Expected wait before the task starts at the site. Work is counted in cores when the site publishes its
 * totals and the broker knows what its own tasks hold there, otherwise in tasks against the admission limit.
 * Only the part of the demand beyond the site's size has to drain, at the learned throughput.
 */
export function queueWaitSeconds(
  site: SiteSnapshot,
  res: ResolvedResources,
  model: CostModel,
  reserved?: SiteReservation,
): number {
  const { totals, maxConcurrentTasks } = site.capacity;
  const claimed =
    reserved === undefined || site.load.claimed === undefined
      ? site.load.claimed
      : {
          cores: site.load.claimed.cores + reserved.cores,
          memoryGib: site.load.claimed.memoryGib + reserved.memoryGib,
          gpus: site.load.claimed.gpus + reserved.gpus,
        };
  let slots: number;
  let excess: number;
  if (totals?.cores !== undefined && totals.cores > 0 && claimed !== undefined) {
    slots = totals.cores;
    excess = claimed.cores + res.cores - slots;
    if (totals.memoryGib !== undefined && totals.memoryGib > 0) {
      // Memory short by a fraction f of the site keeps the task waiting about as long as f of its cores would.
      const memExcess = ((claimed.memoryGib + res.memoryGib - totals.memoryGib) / totals.memoryGib) * slots;
      excess = Math.max(excess, memExcess);
    }
  } else {
    slots = Math.max(1, maxConcurrentTasks);
    excess = site.load.running + site.load.queued + (reserved === undefined ? 1 : 2) - slots;
  }
  if (excess <= 0) return 0;
  const rate = site.performance.throughputPerS ?? slots / model.defaultRunS;
  return rate > 0 ? excess / rate : Number.POSITIVE_INFINITY;
}

/**
 * The site's reservation as it bears on this task: none for the task that holds it, nor for a task expected
 * to finish before the reservation starts (it backfills the gap).
 */
export function reservationAgainst(
  site: SiteSnapshot,
  task: TaskRequirement,
  runS: number,
  now: number | undefined,
): SiteReservation | undefined {
  const r = site.load.reservation;
  if (r === undefined || r.taskId === task.id) return undefined;
  return now !== undefined && now + runS <= r.startAt ? undefined : r;
}

interface KnownDistance {
  from: Point;
  /** Both ends' coordinates when km was computed. */
  at: [number | null, number | null, number | null, number | null];
  km: number | null;
}

/** The last distance computed per site, by store point: a snapshot's sites and stores keep their places. */
const distances = new WeakMap<SiteSnapshot, KnownDistance[]>();

/**
 * haversineKm, remembered per site and store point (checked against both ends' coordinates, so a moved site
 * or store is measured again): placement at a thousand sites otherwise spends a third of its time in it.
 */
function distanceKm(from: Point, site: SiteSnapshot): number | null {
  let known = distances.get(site);
  if (known === undefined) distances.set(site, (known = []));
  const d = known.find((k) => k.from === from);
  if (
    d !== undefined &&
    d.at[0] === from.latitude &&
    d.at[1] === from.longitude &&
    d.at[2] === site.latitude &&
    d.at[3] === site.longitude
  ) {
    return d.km;
  }
  const km = haversineKm(from, site);
  const at: KnownDistance['at'] = [from.latitude, from.longitude, site.latitude, site.longitude];
  if (d !== undefined) Object.assign(d, { at, km });
  else if (known.length < 16) known.push({ from, at, km });
  return km;
}

export function estimateTerms(
  site: SiteSnapshot,
  task: TaskRequirement,
  res: ResolvedResources,
  groups: readonly StoreBytes[],
  model: CostModel,
  now?: number,
): Terms {
  let transferS = 0;
  let wanBytes = 0;
  for (const group of groups) {
    if (group.storeId !== undefined && site.localDataStoreIds.includes(group.storeId)) continue;
    // One distance per store and site: placement at a thousand sites spends most of its time here.
    const km = group.location === null ? null : distanceKm(group.location, site);
    if (km !== null && km <= model.colocationKm) continue;
    wanBytes += group.bytes;
    transferS += transferSeconds(group.bytes, km ?? model.unknownDistanceKm, model);
  }
  const speed = site.performance.speedFactor > 0 ? site.performance.speedFactor : 1;
  const runS = task.expectedRunSBySite?.[site.id] ?? (task.expectedRunS ?? model.defaultRunS) / speed;
  const queueWaitS = queueWaitSeconds(site, res, model, reservationAgainst(site, task, runS, now));
  return { queueWaitS, transferS, runS, totalS: queueWaitS + transferS + runS, wanBytes };
}
