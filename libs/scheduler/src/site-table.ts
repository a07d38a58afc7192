import { ResolvedResources } from './requirements';
import { CostModel, Runtime, SiteSnapshot, SubmitterSnapshot, TaskRequirement } from './snapshot';

/** Bits of a row's flags. */
const APPROVED = 1;
const DRAINING = 2;
const OFFLINE = 4;
const UNKNOWN_HEALTH = 8;
const ANY_INPUT_SCHEME = 16;
const ANY_OUTPUT_SCHEME = 32;
/** A Pulsar site with no container runtime that does not run images on its host: no task can run there. */
const NO_IMAGE_RUNTIME = 64;
const HAS_LOCAL_STORES = 128;
const HAS_THROUGHPUT = 256;

/** A row's numbers. Maxima absent from the site are infinite; totals absent or not positive are 0. */
export const FLAGS = 0;
const MAX_CORES = 1;
const MAX_MEMORY = 2;
const MAX_DISK = 3;
export const TOTAL_CORES = 4;
export const TOTAL_MEMORY = 5;
/** `capacity.maxConcurrentTasks`. */
export const SLOTS = 6;
/** The speed factor run times are divided by: 1 when the site's is not positive. */
export const SPEED = 7;
const THROUGHPUT = 8;
/** Which fill of a row this is: a number no other fill of any row has had. */
export const STAMP = 9;
const STRIDE = 10;

let stamps = 0;

/** Floating-point slack so that a GB request converted to GiB does not fail a limit it equals (as feasibility). */
const EPSILON = 1e-9;

/** A loop, not `some` with a callback, as feasibility's. */
function hasContainerRuntime(runtimes: readonly Runtime[]): boolean {
  for (const r of runtimes) if (r !== 'none') return true;
  return false;
}

/**
 * What placement derives from a site's fields other than its load, one row of numbers per site, by the
 * site's place in the snapshot: feasibility's per-task maxima and its runtime and URL-scheme flags, the admin
 * state and health, the totals, admission limit, speed and throughput. At a thousand sites, reading these
 * through each site's nested objects (capacity, totals, per-task maxima, schemes, runtimes, performance) for
 * every task cost more than the rest of the feasibility check; one typed array read in order costs little.
 *
 * A row is filled when a site object is first seen at its place, and kept while the same object is there:
 * a site's fields other than `load` are read as immutable (SiteSnapshot says so), and whoever changes one
 * puts a new site object in the list. Comparing the fields that might have changed instead cost a tenth of
 * placement. Each fill gets a new stamp, so what is remembered per row elsewhere (distances) can tell.
 */
export class SiteTable {
  private data = new Float64Array(STRIDE * 64);
  private readonly sites: (SiteSnapshot | undefined)[] = [];

  /** The table's numbers; a row starts at `at(i, site)`. Read it again after `at`, which may grow it. */
  get numbers(): Float64Array {
    return this.data;
  }

  /** Where the row of `site`, at place `i` in the snapshot, starts in `numbers`; filled first if new there. */
  at(i: number, site: SiteSnapshot): number {
    if (this.sites[i] !== site) this.fill(i, site);
    return i * STRIDE;
  }

  /** The row of `site` at place `i`, filled from it whatever was there (a site estimated alone). */
  refill(i: number, site: SiteSnapshot): number {
    this.fill(i, site);
    return i * STRIDE;
  }

  private fill(i: number, site: SiteSnapshot): void {
    if ((i + 1) * STRIDE > this.data.length) {
      const grown = new Float64Array(Math.max(this.data.length * 2, (i + 1) * STRIDE));
      grown.set(this.data);
      this.data = grown;
    }
    this.sites[i] = site;
    const { perTask, totals, maxConcurrentTasks } = site.capacity;
    const performance = site.performance;
    let flags = 0;
    if (site.adminState === 'active' || site.adminState === 'draining') flags |= APPROVED;
    if (site.adminState === 'draining') flags |= DRAINING;
    if (site.health === 'offline') flags |= OFFLINE;
    if (site.health === 'unknown') flags |= UNKNOWN_HEALTH;
    if (site.schemes.inputs.includes('*')) flags |= ANY_INPUT_SCHEME;
    if (site.schemes.outputs.includes('*')) flags |= ANY_OUTPUT_SCHEME;
    if (site.kind !== 'tes' && !site.runImagesOnHost && !hasContainerRuntime(site.runtimes))
      flags |= NO_IMAGE_RUNTIME;
    if (site.localDataStoreIds.length > 0) flags |= HAS_LOCAL_STORES;
    if (performance.throughputPerS !== undefined) flags |= HAS_THROUGHPUT;
    const at = i * STRIDE;
    const d = this.data;
    d[at + FLAGS] = flags;
    d[at + MAX_CORES] = perTask?.cores ?? totals?.cores ?? Number.POSITIVE_INFINITY;
    d[at + MAX_MEMORY] = perTask?.memoryGib ?? totals?.memoryGib ?? Number.POSITIVE_INFINITY;
    d[at + MAX_DISK] = perTask?.diskGib ?? totals?.diskGib ?? Number.POSITIVE_INFINITY;
    d[at + TOTAL_CORES] = totals?.cores !== undefined && totals.cores > 0 ? totals.cores : 0;
    d[at + TOTAL_MEMORY] = totals?.memoryGib !== undefined && totals.memoryGib > 0 ? totals.memoryGib : 0;
    d[at + SLOTS] = maxConcurrentTasks;
    d[at + SPEED] = performance.speedFactor > 0 ? performance.speedFactor : 1;
    d[at + THROUGHPUT] = performance.throughputPerS ?? 0;
    d[at + STAMP] = ++stamps;
  }
}

/** What the rows cannot tell for a task, found once per placement: then feasibility is judged in full. */
export interface TaskScreen {
  /** The task asks for something only the full check judges (sites, zones, GPUs, runtimes). */
  full: boolean;
  /** Some input is fetched by the site, so its URL scheme must be one the site can fetch. */
  inputSchemes: boolean;
  /** The task has outputs, so their URL schemes must be ones the site can push. */
  outputSchemes: boolean;
  cores: number;
  memoryGib: number;
  diskGib: number;
}

/** What the rows cannot judge for this task (see feasibleByRow), found once per placement. */
export function taskScreen(
  task: TaskRequirement,
  res: ResolvedResources,
  submitter: SubmitterSnapshot,
): TaskScreen {
  let inputSchemes = false;
  for (const input of task.inputs) if (input.url !== undefined && !input.stagedByTask) inputSchemes = true;
  return {
    full:
      submitter.allowedSiteIds.length > 0 ||
      (task.excludedSiteIds?.length ?? 0) > 0 ||
      task.pinnedSite !== undefined ||
      (task.zones?.length ?? 0) > 0 ||
      res.gpus > 0 ||
      (task.runtimes?.length ?? 0) > 0,
    inputSchemes,
    outputSchemes: (task.outputUrls?.length ?? 0) > 0,
    cores: res.cores,
    memoryGib: res.memoryGib,
    diskGib: res.diskGib,
  };
}

/**
 * Whether the row says the site is feasible for the task. False means "judge it in full"
 * (`unmetRequirements`), which also says why; true is exact: the full check would find nothing unmet.
 */
export function feasibleByRow(d: Float64Array, at: number, screen: TaskScreen): boolean {
  const flags = d[at + FLAGS];
  return (
    !screen.full &&
    (flags & APPROVED) !== 0 &&
    (flags & NO_IMAGE_RUNTIME) === 0 &&
    (!screen.inputSchemes || (flags & ANY_INPUT_SCHEME) !== 0) &&
    (!screen.outputSchemes || (flags & ANY_OUTPUT_SCHEME) !== 0) &&
    !(screen.cores > d[at + MAX_CORES] + EPSILON) &&
    !(screen.memoryGib > d[at + MAX_MEMORY] + EPSILON) &&
    !(screen.diskGib > d[at + MAX_DISK] + EPSILON)
  );
}

/**
 * Whether the row alone shows the site cannot run the task (not approved, no way to run an image, per-task
 * maxima below the task's resources): then some requirement is unmet whatever else the task asks.
 */
export function infeasibleByRow(d: Float64Array, at: number, screen: TaskScreen): boolean {
  const flags = d[at + FLAGS];
  return (
    (flags & APPROVED) === 0 ||
    (flags & NO_IMAGE_RUNTIME) !== 0 ||
    screen.cores > d[at + MAX_CORES] + EPSILON ||
    screen.memoryGib > d[at + MAX_MEMORY] + EPSILON ||
    screen.diskGib > d[at + MAX_DISK] + EPSILON
  );
}

export function isApprovedRow(d: Float64Array, at: number): boolean {
  return (d[at + FLAGS] & APPROVED) !== 0;
}

export function hasLocalStores(d: Float64Array, at: number): boolean {
  return (d[at + FLAGS] & HAS_LOCAL_STORES) !== 0;
}

/** The site's learned throughput, or its slots over the default run time when it has none. */
export function drainRate(d: Float64Array, at: number, slots: number, model: CostModel): number {
  return (d[at + FLAGS] & HAS_THROUGHPUT) !== 0 ? d[at + THROUGHPUT] : slots / model.defaultRunS;
}
