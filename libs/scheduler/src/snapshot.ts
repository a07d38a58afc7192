/**
 * The scheduler's view of the world at one instant. Dispatch builds it from the database (site, data_store,
 * principal rows plus the broker's own bookkeeping of placed tasks); the simulator builds it from its model.
 * Field names follow ARCHITECTURE.md's data model in camelCase.
 */

export type AdminState = 'pending' | 'active' | 'draining' | 'disabled';
export type Health = 'unknown' | 'up' | 'offline';
export type SiteKind = 'tes' | 'pulsar-rest' | 'pulsar-amqp';
export type Runtime = 'docker' | 'singularity' | 'apptainer' | 'none';

export interface ResourceTotals {
  cores?: number;
  memoryGib?: number;
  gpus?: number;
  gpuType?: string;
  diskGib?: number;
}

/** Largest single task the site accepts; an absent field means "bounded by the totals, if any". */
export interface PerTaskMaxima {
  cores?: number;
  memoryGib?: number;
  gpus?: number;
  diskGib?: number;
}

export interface SiteCapacity {
  /** The admission limit the broker enforces: tasks placed there and not yet finished. */
  maxConcurrentTasks: number;
  totals?: ResourceTotals;
  perTask?: PerTaskMaxima;
}

/** Resources held by the broker's own unfinished tasks at the site (running or queued there). */
export interface ClaimedResources {
  cores: number;
  memoryGib: number;
  gpus: number;
}

export interface SiteLoad {
  running: number;
  queued: number;
  claimed?: ClaimedResources;
  /** A waiting task's reservation of the site's next free room (at most one per site); see SiteReservation. */
  reservation?: SiteReservation;
  /**
   * The broker's tasks running at the site, with when they started and the run time expected for them: the
   * room the site frees comes from their ends, and one long task holding most of a site's memory keeps it
   * full far longer than the site's average throughput says. Optional: without it only throughput counts.
   * Read as immutable (placement remembers each list's order of ends): to change it, put a new array here.
   */
  runningTasks?: RunningTask[];
}

/** One of the broker's tasks running at a site, as its queue-wait estimate needs it. */
export interface RunningTask {
  cores: number;
  memoryGib: number;
  /** Seconds since the epoch at which the site started it. */
  startedAt: number;
  /** The run time placement expected for it at this site. */
  expectedRunS: number;
}

/**
 * Backfill: a task that has waited its turn and that no site can start now holds the room it needs at one
 * site from `startAt` (the estimated time it frees up). Another task counts that room as taken there unless it
 * is expected to finish before `startAt`, so small tasks still fill the gap while a large one keeps its place.
 */
export interface SiteReservation {
  taskId: string;
  cores: number;
  memoryGib: number;
  gpus: number;
  /** Seconds since the epoch; fixed when the reservation is made, so backfill cannot push it back for ever. */
  startAt: number;
}

/** What the broker has learned from completions at this site; everything is optional until it has data. */
export interface SitePerformance {
  /** Relative speed: a task runs in expectedRunS / speedFactor seconds here (1 = reference hardware). */
  speedFactor: number;
  /** Cores' worth of work the site finishes per second when saturated (tasks per second without totals). */
  throughputPerS?: number;
  /** Median observed wait between placement and start, for the tpv-broker baseline's score. */
  medianQueueS?: number;
  /** Median observed run time, for the tpv-broker baseline's score. */
  medianRunS?: number;
  /**
   * Opportunity cost of the site's cores for data local to it, in input bytes per core-second
   * (`localityPrice` over the recent tasks whose data is local here); absent or 0 when its cores are not scarce.
   */
  localityPrice?: number;
}

export interface SiteSchemes {
  /** URL schemes the site can fetch inputs from, lowercase; '*' means any. */
  inputs: string[];
  /** URL schemes the site can push outputs to, lowercase; '*' means any. */
  outputs: string[];
}

/**
 * One site as placement reads it. Everything but `load` is read as immutable between placements: placement
 * remembers what it derives from the rest (feasibility limits, flags, speed, throughput, distances) per site
 * object at its place in the list (SiteTable), so whoever changes a site's health, admin state, capacity,
 * performance or anything else but its load puts a new site object in the list (`{ ...site, health }`). The
 * load changes with every placement and is read afresh each time.
 */
export interface SiteSnapshot {
  id: string;
  slug: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  latitude: number | null;
  longitude: number | null;
  kind: SiteKind;
  adminState: AdminState;
  health: Health;
  capacity: SiteCapacity;
  runtimes: Runtime[];
  /**
   * Runtime `none` runs the executors' commands on the host only when the site says so (its hosts have the
   * commands the images would); absent means it does not.
   */
  runImagesOnHost?: boolean;
  localDataStoreIds: string[];
  schemes: SiteSchemes;
  load: SiteLoad;
  performance: SitePerformance;
}

export interface DataStoreSnapshot {
  id: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
}

export interface TaskInput {
  /** Absent for inline `content` inputs, which travel with the job and never decide placement. */
  url?: string;
  /** Declared or probed (HEAD) size; dispatch falls back to a per-store default. */
  sizeBytes: number;
  /** Where sizeBytes came from, for the placement explanation (`HEAD: 3.2 GiB`, `default 64 MiB`). */
  sizeSource?: string;
  /** The store whose URL prefix matches; absent when no registered store matches. */
  dataStoreId?: string;
  /**
   * Fetched by the task's own staging step (a Galaxy Pulsar job pulling from Galaxy's job-files API), not by
   * the site: it counts for locality but sets no input-scheme requirement.
   */
  stagedByTask?: boolean;
}

/** One TES task as the scheduler needs it: resources in TES units plus the constellation.* parameters. */
export interface TaskRequirement {
  id: string;
  cpuCores?: number;
  /** TES `ram_gb`: decimal gigabytes. */
  ramGb?: number;
  diskGb?: number;
  gpus?: number;
  gpuType?: string;
  /** TES `resources.zones`: site slugs or ISO country codes. */
  zones?: string[];
  /** `constellation.site`: a site slug. */
  pinnedSite?: string;
  /** Sites that refused or lost earlier attempts. */
  excludedSiteIds?: string[];
  inputs: TaskInput[];
  outputUrls?: string[];
  /** Container runtimes the task can use (any one); absent means any. */
  runtimes?: Runtime[];
  /**
   * The broker's estimate of the run time on reference hardware, learned from completions of similar
   * tasks; absent until it has one. Never the true run time.
   */
  expectedRunS?: number;
  /**
   * The broker's estimate of the run time at particular sites (site id to seconds), from the tool's own runs
   * there; where present it replaces expectedRunS / the site's speed factor.
   */
  expectedRunSBySite?: Readonly<Record<string, number>>;
  /** When the task entered the queue (seconds since the epoch); lets a policy bound how long it holds it. */
  queuedAt?: number;
}

export interface SubmitterSnapshot {
  id: string;
  /** Empty means every site. */
  allowedSiteIds: string[];
  /** Most tasks it may have running at once; null for no limit. */
  quota: number | null;
  weight: number;
  running: number;
}

/** Parameters of the estimate that are assumptions rather than observations; see docs/scheduling.md. */
export interface CostModel {
  /** Per-transfer bandwidth between a store and a site in the same place, bytes per second. */
  peakBandwidthBytesPerS: number;
  /** Distance at which the bandwidth has halved. */
  halfBandwidthKm: number;
  /** Round trips a transfer pays before the first byte (TLS, HTTP, Pulsar's staging request). */
  setupRoundTrips: number;
  /** A store and a site closer than this are the same place: their traffic is not WAN. */
  colocationKm: number;
  /** Distance assumed for a store or site without coordinates, or an input with no known store. */
  unknownDistanceKm: number;
  /** Run time assumed for a task the broker has no history for. */
  defaultRunS: number;
  /** Health `unknown` (never probed) counts as placeable; off by default so no task goes to an unseen site. */
  placeOnUnknownHealth: boolean;
}

export const DEFAULT_COST_MODEL: Readonly<CostModel> = Object.freeze({
  peakBandwidthBytesPerS: 125e6,
  halfBandwidthKm: 1000,
  setupRoundTrips: 4,
  colocationKm: 50,
  unknownDistanceKm: 1000,
  defaultRunS: 600,
  placeOnUnknownHealth: false,
});

export interface PlacementRequest {
  /** Seconds since the epoch; the scheduler has no clock of its own. */
  now: number;
  sites: readonly SiteSnapshot[];
  dataStores: readonly DataStoreSnapshot[];
  task: TaskRequirement;
  submitter: SubmitterSnapshot;
  model?: Partial<CostModel>;
}

export type Requirement =
  | 'admin_state'
  | 'not_allowed'
  | 'excluded'
  | 'pinned_site'
  | 'zone'
  | 'cores'
  | 'memory'
  | 'disk'
  | 'gpus'
  | 'gpu_type'
  | 'runtime'
  | 'input_scheme'
  | 'output_scheme';

export interface Unmet {
  requirement: Requirement;
  detail: string;
}

/** Why a feasible site cannot take the task now. */
export type Blocked = 'draining' | 'offline' | 'unknown_health' | 'full';

export interface Candidate {
  siteId: string;
  slug: string;
  feasible: boolean;
  unmet?: Unmet[];
  placeable: boolean;
  blocked?: Blocked;
  queueWaitS: number;
  transferS: number;
  runS: number;
  totalS: number;
  /** Input bytes that would cross the WAN (stores not local to the site). */
  wanBytes: number;
  /** Where each term's numbers came from, for the placement explanation; filled in by the broker. */
  sources?: TermSources;
}

export interface TermSources {
  queueWaitS: string;
  transferS: string;
  runS: string;
}

export type Decision = 'place' | 'wait' | 'infeasible';

export interface Placement {
  decision: Decision;
  siteId?: string;
  /**
   * With `wait`: the task reserves this site (the caller puts it in the site's `load.reservation` for the
   * next placements and drops the task's reservation elsewhere; a placed task drops its reservation).
   */
  reservation?: SiteReservation & { siteId: string };
  reason?: string;
  candidates: Candidate[];
}
