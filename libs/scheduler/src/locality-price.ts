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
