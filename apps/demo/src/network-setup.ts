import { loadNetwork } from '../../../bench/sim/network';
import { simDataDir, type NetworkSite, type SimSiteServer } from '../../sim-site/src';
import type { BrokerApi } from './broker-api';

export interface DemoPrincipals {
  providerToken: string;
  submitterToken: string;
}

export interface GalaxyStore {
  id: string;
  name: string;
  /** Where its jobs' inputs and outputs live: the Galaxy job-files API. */
  prefix: string;
}

/** Principals as an admin creates them: a provider that registers the sites, a Galaxy that submits. */
export async function createPrincipals(api: BrokerApi, adminToken: string): Promise<DemoPrincipals> {
  const make = async (name: string, role: string) => {
    const res = await api.call<{ token: { token: string } }>('POST', '/api/v1/principals', adminToken, {
      name,
      role,
    });
    return res.token.token;
  };
  return {
    providerToken: await make('demo-pulsar-network', 'provider'),
    submitterToken: await make('demo-galaxy', 'submitter'),
  };
}

/** The data stores of the Galaxies that submit to the Network, from pulsar-network.json. */
export async function registerGalaxyStores(api: BrokerApi, adminToken: string): Promise<GalaxyStore[]> {
  const network = loadNetwork(simDataDir());
  const stores: GalaxyStore[] = [];
  for (const g of network.stores) {
    const prefix = `https://${g.id}/api/jobs/`;
    const res = await api.call<{ id: string }>('POST', '/api/v1/data-stores', adminToken, {
      name: g.id,
      url_prefixes: [prefix],
      country: g.country,
      latitude: g.latitude,
      longitude: g.longitude,
    });
    stores.push({ id: res.id, name: g.id, prefix });
  }
  return stores;
}

/**
 * Registers each simulated site as its provider would (kind tes, its capacity and the Galaxies next to it)
 * and approves it as an admin; returns once the broker's probes have found every one up.
 */
export async function registerSites(
  api: BrokerApi,
  adminToken: string,
  providerToken: string,
  sites: NetworkSite[],
  sim: SimSiteServer,
  stores: GalaxyStore[],
): Promise<Map<string, string>> {
  const colocated = loadNetwork(simDataDir(), { includeInactive: true }).colocated;
  const ids = new Map<string, string>();
  for (const s of sites) {
    const local = stores.filter((st) => (colocated.get(st.name) ?? []).includes(s.slug)).map((st) => st.id);
    const site = await api.call<{ id: string }>('POST', '/api/v1/sites', providerToken, {
      slug: s.slug,
      display_name: s.displayName,
      country: s.country,
      latitude: s.latitude,
      longitude: s.longitude,
      kind: 'tes',
      url: sim.url(s.slug),
      capacity: {
        max_concurrent_tasks: s.cores,
        totals: { cores: s.cores, memory_gib: s.memoryGib, gpus: s.gpus },
        per_task: { cores: s.perTask.cores, memory_gib: s.perTask.memoryGib, gpus: s.perTask.gpus },
      },
      runtimes: ['singularity'],
      local_data_store_ids: local,
      tags: { network: 'european-pulsar-network', simulated: 'true' },
    });
    await api.call('POST', `/api/v1/sites/${site.id}/approve`, adminToken, {
      reason: 'demo: simulated site',
    });
    ids.set(s.slug, site.id);
  }
  const deadline = Date.now() + 60_000;
  for (const [slug, id] of ids) {
    for (;;) {
      const got = await api.call<{ health: string }>('GET', `/api/v1/sites/${id}`, adminToken);
      if (got.health === 'up') break;
      if (Date.now() > deadline) throw new Error(`site ${slug} was not up a minute after its approval`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return ids;
}
