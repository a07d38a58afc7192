/**
 * Opportunity cost of a site's cores for the data local to it.
 *
 * A site next to a busy data store (nemo beside usegalaxy.eu's storage) is the only place where that store's
 * tasks move no bytes over the WAN, and it is far too small for all of them. Every task it runs takes
 * core-seconds another local task could have used; the bytes that other task then moves are the price. The
 * offline answer is to give the site's core-seconds to the tasks that carry the most input bytes per
 * core-second; `localityPrice` turns a recent window of demand into that cut-off, online: the bytes per
 * core-second of the last task that still fits when the window's tasks are sorted densest first.
 *
 * Everything here is what the broker sees at submission: declared input sizes, requested cores and its own
 * run-time estimate. Pure; the caller keeps the window.
 */

/** One recent task whose data is local to the site. */
export interface LocalDemand {
  /** Input bytes the task would not move over the WAN if it ran at the site. */
  bytes: number;
  /** Requested cores x the broker's run-time estimate. */
  coreS: number;
}

/**
 * Bytes per core-second a task must save to earn the site's cores: 0 when the window's demand fits in
 * `capacityCoreS` (the site's cores x the window's length x the share it may fill this way), else the
 * density of the marginal task.
 */
export function localityPrice(demand: readonly LocalDemand[], capacityCoreS: number): number {
  if (capacityCoreS <= 0) return Number.POSITIVE_INFINITY;
  let total = 0;
  for (const d of demand) total += d.coreS;
  if (total <= capacityCoreS) return 0;
  const dens = demand
    .filter((d) => d.coreS > 0)
    .map((d) => ({ density: d.bytes / d.coreS, coreS: d.coreS }))
    .sort((a, b) => b.density - a.density);
  let used = 0;
  for (const d of dens) {
    used += d.coreS;
    if (used >= capacityCoreS) return d.density;
  }
  return 0;
}

/**
 * The task's size at the site in cores, counting memory as the cores it blocks: max(cores, memory share of
 * the site x its cores). A 3-core task asking half of a site's memory holds half of the site.
 */
export function coreEquivalents(
  site: { capacity: { totals?: { cores?: number; memoryGib?: number } } },
  cores: number,
  memoryGib: number,
): number {
  const t = site.capacity.totals;
  if (t?.cores === undefined || t.cores <= 0 || t.memoryGib === undefined || t.memoryGib <= 0) return cores;
  return Math.max(cores, (memoryGib / t.memoryGib) * t.cores);
}

/** Input bytes per core-second the task saves by running at a site: its local bytes over cores x run time. */
export function localDensity(localBytes: number, cores: number, runS: number): number {
  const coreS = Math.max(1e-9, cores) * Math.max(1, runS);
  return localBytes / coreS;
}

/** Default window of recent tasks a site's locality price is computed over (the broker's setting too). */
export const LOCALITY_WINDOW_S = 3 * 3600;

/** Share of a site's core-seconds the locality price hands to the densest local tasks. */
export const LOCALITY_FILL = 0.9;

/**
 * The shortest span of demand a price is computed over: the default run time. Each task counts its whole
 * expected run, so over a shorter span (the first minutes after a quiet spell) one task alone would price a
 * small site.
 */
export const LOCALITY_MIN_SPAN_S = 600;

/**
 * The broker keeps a site's recent demand as core-seconds per density bucket (eight a decade, a factor of 1.33
 * each), so a window of a few hours at hundreds of tasks a second stays a few hundred rows a site.
 */
export const DENSITY_BUCKETS_PER_DECADE = 8;
const LOWEST_BUCKET = -10 * DENSITY_BUCKETS_PER_DECADE;
const HIGHEST_BUCKET = 20 * DENSITY_BUCKETS_PER_DECADE;

/** The bucket of a density (bytes per core-second): floor(8 x log10), within 1e-10 to 1e20. */
export function densityBucket(density: number): number {
  if (!(density > 0)) return LOWEST_BUCKET;
  const b = Math.floor(Math.log10(density) * DENSITY_BUCKETS_PER_DECADE);
  return Math.min(HIGHEST_BUCKET, Math.max(LOWEST_BUCKET, b));
}

/** The density a bucket stands for: its lower edge, so a price read from buckets errs towards letting in. */
export function bucketDensity(bucket: number): number {
  return 10 ** (bucket / DENSITY_BUCKETS_PER_DECADE);
}

/** Core-seconds of recent local demand in one density bucket. */
export interface DemandBucket {
  bucket: number;
  coreS: number;
}

/** `localityPrice` over demand kept in buckets: the lower edge of the bucket where the capacity runs out. */
export function bucketedLocalityPrice(buckets: readonly DemandBucket[], capacityCoreS: number): number {
  return localityPrice(
    buckets.map((b) => ({ bytes: bucketDensity(b.bucket) * b.coreS, coreS: b.coreS })),
    capacityCoreS,
  );
}

/** One task's demand as the broker keeps it: its density rounded down to its bucket's lower edge. */
export function bucketedDemand(d: LocalDemand): LocalDemand {
  if (!(d.coreS > 0)) return d;
  return { bytes: bucketDensity(densityBucket(d.bytes / d.coreS)) * d.coreS, coreS: d.coreS };
}
