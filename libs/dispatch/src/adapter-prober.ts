import type { SiteAdapters } from '@constellation/adapters';
import type { AppConfig } from '@constellation/config';
import type { SiteProber } from './probe.service';
import type { DispatchSites } from './dispatch-sites';

/** How long a probe may take: inside the lease, so a slow site never outlives its claim. */
export function probeTimeoutMs(config: Pick<AppConfig, 'leaseSeconds'>): number {
  return Math.min(10_000, Math.max(1000, (config.leaseSeconds * 1000) / 2));
}

/**
 * Probes a site through its kind's adapter (a TES site answers service-info with our credentials, and
 * reports its version), recording the URL schemes it fetches itself.
 */
export function adapterProber(adapters: SiteAdapters, directory: DispatchSites): SiteProber {
  return async (target) => {
    const adapter = adapters.for(target.kind);
    const entry = adapter ? await directory.site(target.id) : null;
    // Every kind has an adapter; a site removed while its probe was due has nothing left to probe.
    if (!adapter) return { ok: false, latencyMs: null, error: `no adapter for sites of kind ${target.kind}` };
    if (!entry) return { ok: false, latencyMs: null, error: 'the site was removed' };
    const outcome = await adapter.probe(entry.adapterSite);
    if (!outcome.ok) return outcome;
    // Recorded with the probe, so placement and service-info never ask the site. For a TES site the probe
    // has just read service-info, which the adapter keeps: no second request.
    try {
      return { ...outcome, schemes: await adapter.schemes(entry.adapterSite) };
    } catch {
      return outcome;
    }
  };
}
