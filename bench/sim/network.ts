import { haversineKm } from '@constellation/scheduler';
import * as fs from 'fs';
import * as path from 'path';

interface RawCapacity {
  cores: number | null;
  memory_gib: number | null;
  gpus: number | null;
  gpu_type: string | null;
  nodes: number | null;
  max_cores_per_task: number;
  max_memory_gib_per_task: number;
  max_gpus_per_task: number;
}

interface RawEndpoint {
  slug: string;
  kind: string;
  status: string;
  country: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  capacity: RawCapacity;
  local_data_store_ids: string[];
}

interface RawGalaxy {
  id: string;
  submits_to_pulsar_network: boolean;
  country: string;
  latitude: number | null;
  longitude: number | null;
}

interface RawNetwork {
  pulsar_endpoints: RawEndpoint[];
  galaxy_servers: RawGalaxy[];
}

/** [A] Placeholder points for records whose coordinates are null: the country's capital. */
export const CAPITALS: Readonly<Record<string, [number, number]>> = {
  FR: [48.8566, 2.3522],
  CZ: [50.0755, 14.4378],
  BE: [50.8503, 4.3517],
  AU: [-35.2809, 149.13],
};
/** [A] The EOSC EU Node publishes no country; the European Commission's seat stands in. */
export const EOSC_COUNTRY = 'BE';

export interface SimSite {
  id: string;
  slug: string;
  country: string;
  latitude: number;
  longitude: number;
  coordBasis: 'data' | 'capital';
  nodes: number;
  nodesBasis: 'data' | 'default-2';
  perTask: { cores: number; memoryGib: number; gpus: number };
}

export interface SimStore {
  id: string;
  country: string;
  latitude: number;
  longitude: number;
  coordBasis: 'data' | 'capital';
}

export interface Network {
  sites: SimSite[];
  stores: SimStore[];
  /** Store id to the ids of sites within the co-location radius. */
  colocated: Map<string, string[]>;
}

/** [A] pulsar-deployment's default exec_node_count, for sites that document no node count. */
export const DEFAULT_NODES = 2;
export const COLOCATION_KM = 50;

function placeholder(country: string | null): { country: string; lat: number; lon: number } {
  const c = country ?? EOSC_COUNTRY;
  const cap = CAPITALS[c];
  if (!cap) throw new Error(`no placeholder capital for ${c}`);
  return { country: c, lat: cap[0], lon: cap[1] };
}

/** The active endpoints (bench:sim's network); `includeInactive` adds the test and historic ones (the demo's `all`). */
export function loadNetwork(
  dataDir = path.join(__dirname, 'data'),
  options: { includeInactive?: boolean } = {},
): Network {
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'pulsar-network.json'), 'utf8')) as RawNetwork;
  const sites: SimSite[] = raw.pulsar_endpoints
    .filter((e) => options.includeInactive || e.status === 'active')
    .map((e) => {
      const hasCoords = e.latitude !== null && e.longitude !== null && e.country !== null;
      const p = hasCoords ? { country: e.country as string, lat: 0, lon: 0 } : placeholder(e.country);
      return {
        id: e.slug,
        slug: e.slug,
        country: e.country ?? p.country,
        latitude: hasCoords ? (e.latitude as number) : p.lat,
        longitude: hasCoords ? (e.longitude as number) : p.lon,
        coordBasis: hasCoords ? 'data' : 'capital',
        nodes: e.capacity.nodes ?? DEFAULT_NODES,
        nodesBasis: e.capacity.nodes !== null ? 'data' : 'default-2',
        perTask: {
          cores: e.capacity.max_cores_per_task,
          memoryGib: e.capacity.max_memory_gib_per_task,
          gpus: e.capacity.max_gpus_per_task,
        },
      };
    });
  const stores: SimStore[] = raw.galaxy_servers
    .filter((g) => g.submits_to_pulsar_network)
    .map((g) => {
      const hasCoords = g.latitude !== null && g.longitude !== null;
      const p = hasCoords ? { country: g.country, lat: 0, lon: 0 } : placeholder(g.country);
      return {
        id: g.id,
        country: g.country,
        latitude: hasCoords ? (g.latitude as number) : p.lat,
        longitude: hasCoords ? (g.longitude as number) : p.lon,
        coordBasis: hasCoords ? 'data' : 'capital',
      };
    });
  const colocated = new Map<string, string[]>();
  for (const store of stores) {
    colocated.set(
      store.id,
      sites.filter((s) => (haversineKm(store, s) ?? Infinity) <= COLOCATION_KM).map((s) => s.id),
    );
  }
  return { sites, stores, colocated };
}

export interface CapacityScenario {
  name: string;
  description: string;
  /** Total cores, memory and GPUs of a site under this scenario. */
  totals(site: SimSite): { cores: number; memoryGib: number; gpus: number };
}

export const CAPACITY_SCENARIOS: readonly CapacityScenario[] = [
  {
    name: 'documented-nodes',
    description:
      'nodes x per-task maximum (cores, memory, GPUs); nodes from the 2020 terraform where documented, else 2 (pulsar-deployment default)',
    totals: (s) => ({
      cores: s.nodes * s.perTask.cores,
      memoryGib: s.nodes * s.perTask.memoryGib,
      gpus: s.nodes * s.perTask.gpus,
    }),
  },
  {
    name: 'equal-sites',
    description:
      'every site max(48, per-task maximum) cores with 4 GiB per core (at least its per-task memory), GPUs 2 x per-task',
    totals: (s) => {
      const cores = Math.max(48, s.perTask.cores);
      return { cores, memoryGib: Math.max(cores * 4, s.perTask.memoryGib), gpus: 2 * s.perTask.gpus };
    },
  },
];
