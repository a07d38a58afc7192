import { isAdapterError, isBudgetWait, type AdapterSite, type SiteAdapter } from '@constellation/adapters';
import type { Counter } from 'prom-client';

/** The calls the broker makes to sites, each counted per site, call and outcome. */
const CALLS = [
  'probe',
  'submit',
  'find',
  'copies',
  'status',
  'cancel',
  'cleanup',
  'deliver',
  'schemes',
] as const;

/**
 * The same adapter, with every call to a site counted in `calls` (labels site, call, outcome): `ok`, the
 * AdapterError kind it failed with, `budget_wait` when the site's request budget held it back, or `failed`
 * for a probe that answered not ok. Whatever the adapter
 * resolves or rejects with passes through unchanged.
 */
export function instrumentedAdapter(
  adapter: SiteAdapter,
  calls: Counter<'site' | 'call' | 'outcome'>,
): SiteAdapter {
  const wrapped: Record<string, unknown> = {};
  for (const call of CALLS) {
    // deliver() exists only where the broker moves outputs itself.
    if (typeof adapter[call] !== 'function') continue;
    const original = (adapter[call] as (...args: unknown[]) => Promise<unknown>).bind(adapter);
    wrapped[call] = async (site: AdapterSite, ...rest: unknown[]) => {
      try {
        const result = await original(site, ...rest);
        const failedProbe = call === 'probe' && !(result as { ok: boolean }).ok;
        calls.inc({ site: site.slug, call, outcome: failedProbe ? 'failed' : 'ok' });
        return result;
      } catch (err) {
        // Held back by the site's request budget: nothing reached the site, which is not failing.
        const outcome = isBudgetWait(err) ? 'budget_wait' : isAdapterError(err) ? err.kind : 'error';
        calls.inc({ site: site.slug, call, outcome });
        throw err;
      }
    };
  }
  // Everything else (kind, brokerChosenIds, an adapter's own extras) is the adapter's own.
  return new Proxy(adapter, {
    get: (target, key, receiver) =>
      typeof key === 'string' && key in wrapped ? wrapped[key] : Reflect.get(target, key, receiver),
  });
}
