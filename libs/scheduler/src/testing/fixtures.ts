import {
  DataStoreSnapshot,
  PlacementRequest,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
} from '../snapshot';

/** Builders for table-driven tests: a plain, healthy, empty site and a one-core task, overridable per case. */

export const FREIBURG = { latitude: 48.012669, longitude: 7.835062 };
export const PRAGUE = { latitude: 50.0755, longitude: 14.4378 };
export const BARI = { latitude: 41.11989, longitude: 16.857075 };

export function site(id: string, overrides: Partial<SiteSnapshot> = {}): SiteSnapshot {
  return {
    id,
    slug: id,
    country: 'DE',
    ...FREIBURG,
    kind: 'pulsar-rest',
    adminState: 'active',
    health: 'up',
    capacity: { maxConcurrentTasks: 10 },
    runtimes: ['docker', 'singularity'],
    localDataStoreIds: [],
    schemes: { inputs: ['http', 'https'], outputs: ['http', 'https'] },
    load: { running: 0, queued: 0 },
    performance: { speedFactor: 1 },
    ...overrides,
  };
}

export function task(overrides: Partial<TaskRequirement> = {}): TaskRequirement {
  return { id: 't1', inputs: [], ...overrides };
}

export function submitter(overrides: Partial<SubmitterSnapshot> = {}): SubmitterSnapshot {
  return { id: 'galaxy', allowedSiteIds: [], quota: null, weight: 1, running: 0, ...overrides };
}

export const STORES: DataStoreSnapshot[] = [
  { id: 'usegalaxy.eu', country: 'DE', ...FREIBURG },
  { id: 'usegalaxy.cz', country: 'CZ', ...PRAGUE },
  { id: 'nowhere', country: 'XX', latitude: null, longitude: null },
];

export function request(
  sites: SiteSnapshot[],
  t: TaskRequirement = task(),
  sub: SubmitterSnapshot = submitter(),
): PlacementRequest {
  return { now: 1_700_000_000, sites, dataStores: STORES, task: t, submitter: sub };
}

export const GB = 1e9;

/**
 * The capacity and load of a site that publishes its cores (and memory, when given): `claimed` cores and
 * `claimedMemoryGib` are held by the broker's `running` + `queued` tasks there, `maxTasks` at most.
 */
export function coresHeld(c: {
  cores: number;
  memoryGib?: number;
  maxTasks?: number;
  running?: number;
  queued?: number;
  claimed: number;
  claimedMemoryGib: number;
}): Pick<SiteSnapshot, 'capacity' | 'load'> {
  return {
    capacity: {
      maxConcurrentTasks: c.maxTasks ?? 10,
      totals: c.memoryGib === undefined ? { cores: c.cores } : { cores: c.cores, memoryGib: c.memoryGib },
    },
    load: {
      running: c.running ?? 0,
      queued: c.queued ?? 0,
      claimed: { cores: c.claimed, memoryGib: c.claimedMemoryGib, gpus: 0 },
    },
  };
}
