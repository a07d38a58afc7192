import { coreEquivalents, densityBucket } from './locality-price';
import { resolveResources } from './requirements';
import type { Candidate, SiteSnapshot, TaskRequirement } from './snapshot';

/** A placed task's demand on one site local to its data: what `locality_demand` adds up. */
export interface DemandEntry {
  siteId: string;
  bucket: number;
  /** Its size at the site in core-equivalents x the run time placement expected there. */
  coreS: number;
  /** Its input bytes local to the site. */
  bytes: number;
}

function localBytes(requirement: TaskRequirement, site: SiteSnapshot): number {
  let bytes = 0;
  for (const input of requirement.inputs) {
    if (input.dataStoreId !== undefined && site.localDataStoreIds.includes(input.dataStoreId)) {
      bytes += input.sizeBytes;
    }
  }
  return bytes;
}

/**
 * What a placed task asks of each site local to its data that could have run it: the bytes it would read
 * there without the WAN and the core-seconds it would hold (memory counted as the cores it blocks, at the run
 * time placement expected there). Wherever it went: the price weighs everything that wanted the site.
 */
export function localDemandOf(
  requirement: TaskRequirement,
  candidates: readonly Candidate[],
  sites: readonly SiteSnapshot[],
): DemandEntry[] {
  const res = resolveResources(requirement);
  const entries: DemandEntry[] = [];
  for (const site of sites) {
    if (site.localDataStoreIds.length === 0) continue;
    const bytes = localBytes(requirement, site);
    if (bytes <= 0) continue;
    const candidate = candidates.find((c) => c.siteId === site.id);
    if (candidate === undefined || !candidate.placeable) continue;
    const coreS = coreEquivalents(site, res.cores, res.memoryGib) * Math.max(1, candidate.runS);
    // A run time that is not a number would spoil the site's sums for the whole window.
    if (!Number.isFinite(coreS)) continue;
    entries.push({ siteId: site.id, bucket: densityBucket(bytes / coreS), coreS, bytes });
  }
  return entries;
}
