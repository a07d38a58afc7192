import { bandwidthBytesPerS, haversineKm, Point, setupSeconds, transferSeconds } from './geo';
import { expectedEndAt, releaseWaitSeconds } from './release-wait';
import { ResolvedResources } from './requirements';
import {
  drainRate,
  hasLocalStores,
  SiteTable,
  SLOTS,
  SPEED,
  STAMP,
  TOTAL_CORES,
  TOTAL_MEMORY,
} from './site-table';
import {
  CostModel,
  DataStoreSnapshot,
  RunningTask,
  SiteReservation,
  SiteSnapshot,
  TaskRequirement,
  DEFAULT_COST_MODEL,
} from './snapshot';

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
 * A queue wait in two parts: what the demand beyond the site's size takes to drain at the learned throughput
 * (cheap), and what is needed to find the floor the running tasks' expected ends put on it (a search through
 * their sorted ends). The wait is the larger of the two; placement finds the second only for sites whose wait
 * can decide the choice (see SiteFindings).
 */
export interface WaitParts {
  /** The wait without the running tasks' floor: 0 when the task fits now, infinite when nothing drains. */
  drainS: number;
  /** Set when the floor has to be found: the running tasks whose ends free the room, and what is short. */
  running: readonly RunningTask[] | undefined;
  coresShort: number;
  memoryShortGib: number;
}

/**
 * The parts of `queueWaitSeconds` (which see), written into `into`, with what the site's row in `table`
 * says of it (`at`: where the row starts). `running` is left undefined when the floor cannot change the
 * wait: the task fits now, nothing drains, or the broker knows no running tasks.
 */
export function waitParts(
  site: SiteSnapshot,
  d: Float64Array,
  at: number,
  res: ResolvedResources,
  model: CostModel,
  reserved: SiteReservation | undefined,
  now: number | undefined,
  into: WaitParts,
): WaitParts {
  const totalCores = d[at + TOTAL_CORES];
  const claimed = claimedWith(site, reserved);
  into.running = undefined;
  let slots: number;
  let excess: number;
  if (totalCores > 0 && claimed !== undefined) {
    slots = totalCores;
    excess = claimed.cores + res.cores - slots;
    let memoryShortGib = 0;
    const totalMemory = d[at + TOTAL_MEMORY];
    if (totalMemory > 0) {
      memoryShortGib = claimed.memoryGib + res.memoryGib - totalMemory;
      // Memory short by a fraction f of the site keeps the task waiting about as long as f of its cores would.
      excess = Math.max(excess, (memoryShortGib / totalMemory) * slots);
    }
    const running = site.load.runningTasks;
    if (excess > 0 && running !== undefined && now !== undefined) {
      into.running = running;
      into.coresShort = claimed.cores + res.cores - slots;
      into.memoryShortGib = memoryShortGib;
    }
  } else {
    slots = Math.max(1, d[at + SLOTS]);
    excess = site.load.running + site.load.queued + (reserved === undefined ? 1 : 2) - slots;
  }
  if (excess <= 0) {
    into.drainS = 0;
    return into;
  }
  const rate = drainRate(d, at, slots, model);
  if (rate > 0) {
    into.drainS = excess / rate;
  } else {
    into.drainS = Number.POSITIVE_INFINITY;
    into.running = undefined;
  }
  return into;
}

/** The wait from its parts: the drain time, floored by the running tasks' expected ends when they count. */
export function waitFromParts(
  drainS: number,
  running: readonly RunningTask[] | undefined,
  coresShort: number,
  memoryShortGib: number,
  now: number,
  index?: number,
): number {
  if (running === undefined) return drainS;
  return Math.max(drainS, releaseWaitSeconds(running, coresShort, memoryShortGib, now, index));
}

/** The row of a site estimated alone (queueWaitSeconds, estimateTerms), apart from placement's table. */
const lone = new SiteTable();

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
  const at = lone.refill(0, site);
  const d = lone.numbers;
  const { drainS, running, coresShort, memoryShortGib } = waitParts(
    site,
    d,
    at,
    res,
    model,
    reserved,
    now,
    parts,
  );
  return waitFromParts(drainS, running, coresShort, memoryShortGib, now as number, index);
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
 * From one store to the sites of a snapshot, by the site's index there: the distance and, for a transfer
 * over it, the set-up time and the bandwidth, remembered for the site's row in placement's SiteTable (its
 * stamp) and the store's coordinates (a moved store is measured again). Placement at a thousand sites
 * otherwise spends most of its time in haversineKm and the transfer's divisions; what is left per task is
 * one division per site. A transfer is `setupS + bytes / bandwidth`, the operations of transferSeconds in
 * its order, so the seconds are the same to the last bit.
 */
class DistanceTable {
  /** The row stamp each entry was computed for; 0 for none. */
  stamps: Float64Array = new Float64Array(64);
  /** NaN where either end has no coordinates. */
  km: Float64Array = new Float64Array(64);
  setupS: Float64Array = new Float64Array(64);
  bandwidth: Float64Array = new Float64Array(64);
  private fromLatitude: number | null;
  private fromLongitude: number | null;
  private model: CostModel | undefined;

  constructor(private readonly from: Point) {
    this.fromLatitude = from.latitude;
    this.fromLongitude = from.longitude;
  }

  /** This table, emptied first if the store has moved or the cost model differs since it was filled. */
  current(model: CostModel): this {
    const m = this.model;
    if (
      this.from.latitude !== this.fromLatitude ||
      this.from.longitude !== this.fromLongitude ||
      m === undefined ||
      (m !== model &&
        (m.peakBandwidthBytesPerS !== model.peakBandwidthBytesPerS ||
          m.halfBandwidthKm !== model.halfBandwidthKm ||
          m.setupRoundTrips !== model.setupRoundTrips ||
          m.unknownDistanceKm !== model.unknownDistanceKm))
    ) {
      this.stamps.fill(0);
      this.fromLatitude = this.from.latitude;
      this.fromLongitude = this.from.longitude;
      this.model = model;
    }
    return this;
  }

  /**
   * Fills the entry at `index` for the site whose row carries `stamp`; the scan calls it only when `stamps`
   * says the entry is not that row's (a call per site and task, not inlined, cost more than the check).
   */
  fill(index: number, stamp: number, site: SiteSnapshot): void {
    if (index >= this.stamps.length) this.grow(index + 1);
    const model = this.model as CostModel;
    const km = haversineKm(this.from, site);
    const distance = km ?? model.unknownDistanceKm;
    this.stamps[index] = stamp;
    this.km[index] = km ?? Number.NaN;
    this.setupS[index] = setupSeconds(distance, model);
    this.bandwidth[index] = bandwidthBytesPerS(distance, model);
  }

  /** Room for `n` sites, so that the arrays stay the same objects while a snapshot is scanned. */
  reserve(n: number): void {
    if (n > this.stamps.length) this.grow(n);
  }

  private grow(n: number): void {
    const size = Math.max(n, this.stamps.length * 2);
    const grown = (a: Float64Array): Float64Array => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.stamps = grown(this.stamps);
    this.km = grown(this.km);
    this.setupS = grown(this.setupS);
    this.bandwidth = grown(this.bandwidth);
  }
}

const tables = new WeakMap<Point, DistanceTable>();

/** The distance table of each group's store (undefined for a group without a location), for one placement. */
export function distanceTables(
  groups: readonly StoreBytes[],
  model: CostModel,
): (DistanceTable | undefined)[] {
  return groups.map((g) => {
    if (g.location === null) return undefined;
    let table = tables.get(g.location);
    if (table === undefined) tables.set(g.location, (table = new DistanceTable(g.location)));
    return table.current(model);
  });
}

/** Where a site's terms go in the array a scan writes them into (`TermScan.terms`), from its offset. */
export const TERM_WAIT = 0;
export const TERM_TRANSFER = 1;
export const TERM_RUN = 2;
export const TERM_WAN = 3;
/** How many numbers a scan writes per site. */
export const TERMS = 4;

/**
 * The terms of `estimateTerms` (which see) for one task at site after site, each written straight into an
 * array of numbers (placement's findings) where they are kept, with no object in between to copy them from.
 * What is the same at every site is found once per task (`start`): the run time before the site's speed,
 * the resources, the distance tables.
 *
 * The queue wait written is its drain part (`WaitParts`); when its running tasks' floor is left to be found,
 * `terms` returns their list and leaves the shortfalls in `coresShort` and `memoryShortGib`, and the wait and
 * the total read from the array are lower bounds of the exact ones.
 */
export class TermScan implements WaitParts {
  drainS = 0.5;
  running: readonly RunningTask[] | undefined = undefined;
  coresShort = 0.5;
  memoryShortGib = 0.5;
  private task: TaskRequirement | undefined = undefined;
  private res: ResolvedResources | undefined = undefined;
  private groups: readonly StoreBytes[] = [];
  private tables: readonly (DistanceTable | undefined)[] = [];
  private model: CostModel = DEFAULT_COST_MODEL;
  private now: number | undefined = undefined;
  private bySite: Readonly<Record<string, number>> | undefined = undefined;
  /** The task's run time on reference hardware, before a site's speed divides it. */
  private baseRunS = 0.5;

  /**
   * Starts a task's scan. `tables` are its groups' distance tables by the sites' places in a snapshot of
   * `sites` sites (`distanceTables`), or undefined for distances computed site by site (a site alone).
   */
  start(
    task: TaskRequirement,
    res: ResolvedResources,
    groups: readonly StoreBytes[],
    model: CostModel,
    now: number | undefined,
    tables: readonly (DistanceTable | undefined)[] | undefined,
    sites: number,
  ): this {
    this.task = task;
    this.res = res;
    this.groups = groups;
    this.model = model;
    this.now = now;
    this.bySite = task.expectedRunSBySite;
    this.baseRunS = task.expectedRunS ?? model.defaultRunS;
    this.tables = tables ?? groups.map(() => undefined);
    for (const table of this.tables) table?.reserve(sites);
    return this;
  }

  /**
   * Writes the site's terms into `out` from `o` (TERM_WAIT...): the site is at `index` in the snapshot and
   * its row in a SiteTable is `d` from `at`. Returns the running tasks whose ends floor the wait when that
   * floor is left to be found (see the class), else undefined.
   */
  terms(
    site: SiteSnapshot,
    d: Float64Array,
    at: number,
    index: number,
    out: Float64Array,
    o: number,
  ): readonly RunningTask[] | undefined {
    const groups = this.groups;
    const model = this.model;
    let transferS = 0;
    let wanBytes = 0;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      if (
        group.storeId !== undefined &&
        hasLocalStores(d, at) &&
        site.localDataStoreIds.includes(group.storeId)
      )
        continue;
      const table = this.tables[g];
      if (table !== undefined) {
        const stamp = d[at + STAMP];
        if (table.stamps[index] !== stamp) table.fill(index, stamp, site);
        // NaN (no coordinates) is never within the colocation distance.
        if (table.km[index] <= model.colocationKm) continue;
        wanBytes += group.bytes;
        if (group.bytes > 0) transferS += table.setupS[index] + group.bytes / table.bandwidth[index];
        continue;
      }
      const km = group.location === null ? null : haversineKm(group.location, site);
      if (km !== null && km <= model.colocationKm) continue;
      wanBytes += group.bytes;
      transferS += transferSeconds(group.bytes, km ?? model.unknownDistanceKm, model);
    }
    const task = this.task as TaskRequirement;
    const runS = this.bySite?.[site.id] ?? this.baseRunS / d[at + SPEED];
    const reserved = reservationAgainst(site, task, runS, this.now);
    waitParts(site, d, at, this.res as ResolvedResources, model, reserved, this.now, this);
    out[o + TERM_WAIT] = this.drainS;
    out[o + TERM_TRANSFER] = transferS;
    out[o + TERM_RUN] = runS;
    out[o + TERM_WAN] = wanBytes;
    return this.running;
  }
}

const scanned = new TermScan();
const alone = new Float64Array(TERMS);
/** A TermScan, not a plain object: waitParts then writes into one shape only. */
const parts: WaitParts = new TermScan();

/** Queue wait, input transfer, run time and their total for the task at the site; WAN bytes it would move. */
export function estimateTerms(
  site: SiteSnapshot,
  task: TaskRequirement,
  res: ResolvedResources,
  groups: readonly StoreBytes[],
  model: CostModel,
  now?: number,
): Terms {
  const at = lone.refill(0, site);
  const t = scanned.start(task, res, groups, model, now, undefined, 1);
  const running = t.terms(site, lone.numbers, at, 0, alone, 0);
  const queueWaitS = waitFromParts(t.drainS, running, t.coresShort, t.memoryShortGib, now as number);
  const transferS = alone[TERM_TRANSFER];
  const runS = alone[TERM_RUN];
  return { queueWaitS, transferS, runS, totalS: queueWaitS + transferS + runS, wanBytes: alone[TERM_WAN] };
}
