import { haversineKm, Point, transferSeconds } from './geo';
import { expectedEndAt, releaseWaitSeconds } from './release-wait';
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

/** What the broker's tasks hold at the site, with a reservation held against the task added. */
function claimedWith(
  site: SiteSnapshot,
  reserved: SiteReservation | undefined,
): SiteSnapshot['load']['claimed'] {
  const claimed = site.load.claimed;
  if (reserved === undefined || claimed === undefined) return claimed;
  return {
    cores: claimed.cores + reserved.cores,
    memoryGib: claimed.memoryGib + reserved.memoryGib,
    gpus: claimed.gpus + reserved.gpus,
  };
}

/**
 * Expected wait before the task starts at the site. Work is counted in cores when the site publishes its
 * totals and the broker knows what its own tasks hold there, otherwise in tasks against the admission limit.
 * Only the part of the demand beyond the site's size has to drain, at the learned throughput. When the broker
 * knows its running tasks there (`load.runningTasks`) and `now`, the wait is at least the time until their
 * expected ends free the room that is short: the average throughput cannot see that one long task holds most
 * of the memory (equal-sites@0.5, seed 3: thirteen tasks queued 145,000 s behind one metaspades job).
 * `index`, the site's place in the snapshot, lets the running tasks' ends be found without a lookup.
 */
export function queueWaitSeconds(
  site: SiteSnapshot,
  res: ResolvedResources,
  model: CostModel,
  reserved?: SiteReservation,
  now?: number,
  index?: number,
): number {
  const { totals, maxConcurrentTasks } = site.capacity;
  const claimed = claimedWith(site, reserved);
  let slots: number;
  let excess: number;
  let releaseS = 0;
  if (totals?.cores !== undefined && totals.cores > 0 && claimed !== undefined) {
    slots = totals.cores;
    excess = claimed.cores + res.cores - slots;
    let memoryShortGib = 0;
    if (totals.memoryGib !== undefined && totals.memoryGib > 0) {
      memoryShortGib = claimed.memoryGib + res.memoryGib - totals.memoryGib;
      // Memory short by a fraction f of the site keeps the task waiting about as long as f of its cores would.
      excess = Math.max(excess, (memoryShortGib / totals.memoryGib) * slots);
    }
    const running = site.load.runningTasks;
    if (excess > 0 && running !== undefined && now !== undefined) {
      const coresShort = claimed.cores + res.cores - slots;
      releaseS = releaseWaitSeconds(running, coresShort, memoryShortGib, now, index);
    }
  } else {
    slots = Math.max(1, maxConcurrentTasks);
    excess = site.load.running + site.load.queued + (reserved === undefined ? 1 : 2) - slots;
  }
  if (excess <= 0) return 0;
  const rate = site.performance.throughputPerS ?? slots / model.defaultRunS;
  return rate > 0 ? Math.max(excess / rate, releaseS) : Number.POSITIVE_INFINITY;
}

/** The part of a queue wait that the running tasks' expected ends set, for the placement explanation. */
export interface ReleaseFloor {
  /** Seconds until the room the task is short is expected to be free (`releaseWaitSeconds`). */
  seconds: number;
  /** How many of the site's running tasks are expected to end by then. */
  tasks: number;
  /** How many tasks the broker knows are running there. */
  running: number;
}

/**
 * The floor `queueWaitSeconds` puts on the task's wait at the site from its running tasks' expected ends, as
 * placement saw it (`runS` is the task's run term there, which decides whether a reservation bears on it);
 * undefined when the site publishes no totals, the broker knows no running tasks there or nothing is short.
 */
export function releaseFloor(
  site: SiteSnapshot,
  task: TaskRequirement,
  res: ResolvedResources,
  runS: number,
  now: number,
): ReleaseFloor | undefined {
  const totals = site.capacity.totals;
  const claimed = claimedWith(site, reservationAgainst(site, task, runS, now));
  const running = site.load.runningTasks;
  if (totals?.cores === undefined || totals.cores <= 0 || claimed === undefined || running === undefined)
    return undefined;
  const coresShort = claimed.cores + res.cores - totals.cores;
  const memoryShortGib =
    totals.memoryGib !== undefined && totals.memoryGib > 0
      ? claimed.memoryGib + res.memoryGib - totals.memoryGib
      : 0;
  if ((coresShort <= 0 && memoryShortGib <= 0) || running.length === 0) return undefined;
  const seconds = releaseWaitSeconds(running, coresShort, memoryShortGib, now);
  // The tasks it waits for are those expected to end by then (ties included: they free room together).
  const tasks = running.filter((t) => expectedEndAt(t, now) <= now + seconds).length;
  return { seconds, tasks, running: running.length };
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

/**
 * Distances from one store to the sites of a snapshot, by the site's index there, remembered while the site
 * at that index and both ends' coordinates stay the same (a moved site or store is measured again).
 * Placement at a thousand sites otherwise spends most of its time in haversineKm; an array lookup and three
 * comparisons replace it, and dispatch's rounds and the simulator keep one snapshot's sites in one order.
 */
class DistanceTable {
  private readonly sites: (SiteSnapshot | undefined)[] = [];
  private readonly latitudes: (number | null)[] = [];
  private readonly longitudes: (number | null)[] = [];
  private readonly km: (number | null)[] = [];
  private fromLatitude: number | null;
  private fromLongitude: number | null;

  constructor(private readonly from: Point) {
    this.fromLatitude = from.latitude;
    this.fromLongitude = from.longitude;
  }

  /** This table, emptied first if the store has moved since it was filled. */
  current(): this {
    if (this.from.latitude !== this.fromLatitude || this.from.longitude !== this.fromLongitude) {
      this.sites.length = 0;
      this.fromLatitude = this.from.latitude;
      this.fromLongitude = this.from.longitude;
    }
    return this;
  }

  kmAt(index: number, site: SiteSnapshot): number | null {
    if (
      this.sites[index] === site &&
      this.latitudes[index] === site.latitude &&
      this.longitudes[index] === site.longitude
    ) {
      return this.km[index];
    }
    const km = haversineKm(this.from, site);
    this.sites[index] = site;
    this.latitudes[index] = site.latitude;
    this.longitudes[index] = site.longitude;
    this.km[index] = km;
    return km;
  }
}

const tables = new WeakMap<Point, DistanceTable>();

/** The distance table of each group's store (undefined for a group without a location), for one placement. */
export function distanceTables(groups: readonly StoreBytes[]): (DistanceTable | undefined)[] {
  return groups.map((g) => {
    if (g.location === null) return undefined;
    let table = tables.get(g.location);
    if (table === undefined) tables.set(g.location, (table = new DistanceTable(g.location)));
    return table.current();
  });
}

/**
 * Where a site is in the snapshot being placed against, and the distance tables of the task's groups
 * (`distanceTables`): placement passes them so that distances are looked up, not computed, per task.
 */
export interface SitePosition {
  index: number;
  tables: readonly (DistanceTable | undefined)[];
}

export function estimateTerms(
  site: SiteSnapshot,
  task: TaskRequirement,
  res: ResolvedResources,
  groups: readonly StoreBytes[],
  model: CostModel,
  now?: number,
  position?: SitePosition,
  into?: Terms,
): Terms {
  let transferS = 0;
  let wanBytes = 0;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g];
    const local = site.localDataStoreIds;
    if (group.storeId !== undefined && local.length > 0 && local.includes(group.storeId)) continue;
    const table = position?.tables[g];
    const km =
      group.location === null
        ? null
        : table !== undefined && position !== undefined
          ? table.kmAt(position.index, site)
          : haversineKm(group.location, site);
    if (km !== null && km <= model.colocationKm) continue;
    wanBytes += group.bytes;
    transferS += transferSeconds(group.bytes, km ?? model.unknownDistanceKm, model);
  }
  const speed = site.performance.speedFactor > 0 ? site.performance.speedFactor : 1;
  const runS = task.expectedRunSBySite?.[site.id] ?? (task.expectedRunS ?? model.defaultRunS) / speed;
  const reserved = reservationAgainst(site, task, runS, now);
  const queueWaitS = queueWaitSeconds(site, res, model, reserved, now, position?.index);
  if (into === undefined)
    return { queueWaitS, transferS, runS, totalS: queueWaitS + transferS + runS, wanBytes };
  // Placement writes the terms into each site's candidate: one object per site and task, not two.
  into.queueWaitS = queueWaitS;
  into.transferS = transferS;
  into.runS = runS;
  into.totalS = queueWaitS + transferS + runS;
  into.wanBytes = wanBytes;
  return into;
}
