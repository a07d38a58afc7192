import {
  bucketedLocalityPrice,
  type Candidate,
  coreEquivalents,
  localDensity,
  LOCALITY_FILL,
  LOCALITY_MIN_SPAN_S,
  resolveResources,
  type SiteSnapshot,
  type TaskRequirement,
} from '@constellation/scheduler';
import type { SiteDemand } from './locality-demand.store';

/**
 * Sets `performance.localityPrice` on each site local to a data store that publishes its total cores, from
 * the demand placed in the window: the density at which the densest local tasks use up LOCALITY_FILL of the
 * site's core-seconds over the span the demand covers (the window, or less while it fills, but at least
 * LOCALITY_MIN_SPAN_S). A site whose
 * demand fits gets no price. Returns the prices set.
 */
export function applyLocalityPrices(
  sites: readonly SiteSnapshot[],
  demand: ReadonlyMap<string, SiteDemand>,
  nowS: number,
  windowS: number,
): Map<string, number> {
  const prices = new Map<string, number>();
  for (const site of sites) {
    const cores = site.capacity.totals?.cores;
    const d = demand.get(site.id);
    if (site.localDataStoreIds.length === 0 || cores === undefined || cores <= 0 || d === undefined) continue;
    const spanS = Math.min(windowS, Math.max(LOCALITY_MIN_SPAN_S, nowS - d.first.getTime() / 1000));
    const price = bucketedLocalityPrice(d.buckets, cores * spanS * LOCALITY_FILL);
    if (price > 0) {
      site.performance = { ...site.performance, localityPrice: price };
      prices.set(site.id, price);
    }
  }
  return prices;
}

/** A priced site in a placement's explanation: its price, and what this task would save there. */
export interface LocalityNote {
  site_id: string;
  site: string;
  /** Input bytes per core-second a task must save at the site to earn its cores. */
  price_bytes_per_core_s: number;
  /** What this task saves there, per core-second: at least the price earns the site. */
  task_bytes_per_core_s: number;
  earns: boolean;
}

/** The priced sites the task could use, for its placement record; empty when no site has a price. */
export function localityNotes(
  requirement: TaskRequirement,
  candidates: readonly Candidate[],
  sites: readonly SiteSnapshot[],
): LocalityNote[] {
  const res = resolveResources(requirement);
  let inputBytes = 0;
  for (const input of requirement.inputs) inputBytes += input.sizeBytes;
  const notes: LocalityNote[] = [];
  for (const site of sites) {
    const price = site.performance.localityPrice ?? 0;
    if (price <= 0) continue;
    const candidate = candidates.find((c) => c.siteId === site.id);
    if (candidate === undefined || !candidate.placeable) continue;
    const saved = Math.max(0, inputBytes - candidate.wanBytes);
    const density = localDensity(saved, coreEquivalents(site, res.cores, res.memoryGib), candidate.runS);
    notes.push({
      site_id: site.id,
      site: site.slug,
      price_bytes_per_core_s: Math.round(price),
      task_bytes_per_core_s: Math.round(density),
      earns: density >= price,
    });
  }
  return notes;
}
