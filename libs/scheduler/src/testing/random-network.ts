import { Prng } from '../prng';
import {
  AdminState,
  DataStoreSnapshot,
  Health,
  Runtime,
  SiteKind,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskInput,
  TaskRequirement,
} from '../snapshot';

/**
 * A seeded network that reaches every branch placement has: sites that cannot run a task for each reason,
 * blocked ones, sites with and without totals, coordinates, running tasks, reservations and locality prices,
 * tasks with zones, pins, exclusions, GPUs, several stores and inputs without one. Placement's cost work is
 * checked against decisions recorded on it (placement-golden.spec.ts), so it must stay the same for a seed.
 */
export interface RandomNetwork {
  sites: SiteSnapshot[];
  stores: DataStoreSnapshot[];
  tasks: TaskRequirement[];
  submitters: SubmitterSnapshot[];
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[Math.floor(prng.next() * items.length)];
}

function uniform(prng: Prng, lo: number, hi: number): number {
  return lo + prng.next() * (hi - lo);
}

const STORES: DataStoreSnapshot[] = [
  { id: 'usegalaxy.eu', country: 'DE', latitude: 48.01, longitude: 7.84 },
  { id: 'usegalaxy.cz', country: 'CZ', latitude: 50.08, longitude: 14.44 },
  { id: 'usegalaxy.it', country: 'IT', latitude: 41.12, longitude: 16.86 },
  { id: 'unplaced', country: 'XX', latitude: null, longitude: null },
];

const COUNTRIES = ['DE', 'CZ', 'IT', 'ES', 'FR', 'NL'];

function randomSite(prng: Prng, i: number): SiteSnapshot {
  const kind: SiteKind = pick(prng, ['pulsar-amqp', 'pulsar-amqp', 'pulsar-rest', 'tes'] as const);
  const adminState: AdminState = pick(prng, [
    'active',
    'active',
    'active',
    'active',
    'active',
    'draining',
    'pending',
    'disabled',
  ] as const);
  const health: Health = pick(prng, ['up', 'up', 'up', 'up', 'up', 'up', 'offline', 'unknown'] as const);
  const runtimes: Runtime[] = pick(prng, [
    ['singularity'],
    ['docker', 'singularity'],
    ['apptainer'],
    ['docker'],
    ['none'],
  ] as Runtime[][]);
  const withTotals = prng.next() < 0.8;
  const cores = pick(prng, [16, 32, 64, 128]);
  const memoryGib = cores * pick(prng, [2, 4, 8]);
  const gpus = prng.next() < 0.15 ? pick(prng, [1, 2, 4]) : 0;
  const maxTasks = pick(prng, [4, 16, 64]);
  const claimedCores = Math.floor(uniform(prng, 0, cores * 1.3));
  const running = Math.min(maxTasks, Math.floor(claimedCores / 2));
  const queued = prng.next() < 0.2 ? Math.floor(uniform(prng, 0, 5)) : 0;
  const located = prng.next() < 0.9;
  const home = STORES[Math.floor(prng.next() * 3)];
  const runningTasks =
    prng.next() < 0.7 && running > 0
      ? Array.from({ length: running }, () => ({
          cores: claimedCores / running,
          memoryGib: (claimedCores * (memoryGib / cores)) / running,
          startedAt: uniform(prng, 0, 5_000),
          expectedRunS: 60 * Math.exp(uniform(prng, 0, 5)),
        }))
      : undefined;
  const site: SiteSnapshot = {
    id: `site-${String(i).padStart(3, '0')}`,
    slug: `s${i}`,
    country: pick(prng, COUNTRIES),
    latitude: located ? home.latitude! + uniform(prng, -3, 3) : null,
    longitude: located ? home.longitude! + uniform(prng, -3, 3) : null,
    kind,
    adminState,
    health,
    capacity: {
      maxConcurrentTasks: maxTasks,
      totals: withTotals
        ? { cores, memoryGib, gpus, gpuType: gpus > 0 ? pick(prng, ['a100', 'v100']) : undefined }
        : undefined,
      perTask:
        prng.next() < 0.5 ? { cores: cores / 2, memoryGib: memoryGib / 2, gpus, diskGib: 500 } : undefined,
    },
    runtimes,
    runImagesOnHost: runtimes[0] === 'none' ? prng.next() < 0.5 : undefined,
    localDataStoreIds: prng.next() < 0.2 ? [home.id] : [],
    schemes: {
      inputs: pick(prng, [['*'], ['*'], ['http', 'https'], ['s3']]),
      outputs: pick(prng, [['*'], ['https'], ['s3', 'https']]),
    },
    load: {
      running,
      queued,
      claimed: withTotals
        ? { cores: claimedCores, memoryGib: claimedCores * (memoryGib / cores), gpus: 0 }
        : undefined,
      runningTasks,
    },
    performance: {
      speedFactor: uniform(prng, 0.6, 1.4),
      throughputPerS: prng.next() < 0.8 ? uniform(prng, 0.01, 0.2) : undefined,
      medianQueueS: prng.next() < 0.5 ? uniform(prng, 0, 600) : undefined,
      medianRunS: prng.next() < 0.5 ? uniform(prng, 60, 3_600) : undefined,
      localityPrice: prng.next() < 0.1 ? uniform(prng, 1e3, 1e6) : undefined,
    },
  };
  return site;
}

function randomInput(prng: Prng, i: number, j: number): TaskInput {
  const store = pick(prng, [...STORES, undefined]);
  const scheme = pick(prng, ['https', 'https', 'http', 's3', 'ftp']);
  const input: TaskInput = {
    url: `${scheme}://data.example/${i}/${j}`,
    sizeBytes: Math.round(1e6 * Math.exp(uniform(prng, 0, 11))),
  };
  if (store !== undefined) input.dataStoreId = store.id;
  if (prng.next() < 0.1) input.stagedByTask = true;
  return input;
}

function randomTask(prng: Prng, i: number, sites: readonly SiteSnapshot[]): TaskRequirement {
  const task: TaskRequirement = {
    id: `t${i}`,
    inputs: Array.from({ length: Math.floor(uniform(prng, 0, 4)) }, (_, j) => randomInput(prng, i, j)),
    queuedAt: uniform(prng, 0, 8_000),
  };
  if (prng.next() < 0.9) task.cpuCores = pick(prng, [1, 2, 4, 8, 16, 48]);
  if (prng.next() < 0.8) task.ramGb = pick(prng, [2, 8, 30, 120, 400]);
  if (prng.next() < 0.2) task.diskGb = pick(prng, [10, 1_000]);
  if (prng.next() < 0.05) {
    task.gpus = 1;
    if (prng.next() < 0.5) task.gpuType = 'a100';
  }
  if (prng.next() < 0.05) task.zones = [pick(prng, COUNTRIES), pick(prng, sites).slug];
  if (prng.next() < 0.03) task.pinnedSite = pick(prng, sites).slug;
  if (prng.next() < 0.1) task.excludedSiteIds = [pick(prng, sites).id, pick(prng, sites).id];
  if (prng.next() < 0.1) task.runtimes = [pick(prng, ['docker', 'singularity', 'none'] as Runtime[])];
  if (prng.next() < 0.1) task.outputUrls = [pick(prng, ['s3://out/x', 'https://out/x', 'ftp://out/x'])];
  if (prng.next() < 0.7) task.expectedRunS = 30 * Math.exp(uniform(prng, 0, 6));
  if (prng.next() < 0.1) {
    task.expectedRunSBySite = Object.fromEntries(
      [pick(prng, sites), pick(prng, sites)].map((s) => [s.id, uniform(prng, 10, 10_000)]),
    );
  }
  return task;
}

export function randomNetwork(prng: Prng, siteCount: number, taskCount: number): RandomNetwork {
  const sites = Array.from({ length: siteCount }, (_, i) => randomSite(prng, i));
  const tasks = Array.from({ length: taskCount }, (_, i) => randomTask(prng, i, sites));
  const submitters: SubmitterSnapshot[] = [
    { id: 'usegalaxy.eu', allowedSiteIds: [], quota: null, weight: 1, running: 0 },
    {
      id: 'restricted',
      allowedSiteIds: sites.filter(() => prng.next() < 0.5).map((s) => s.id),
      quota: null,
      weight: 1,
      running: 0,
    },
    { id: 'capped', allowedSiteIds: [], quota: 3, weight: 1, running: 2 },
  ];
  return { sites, stores: STORES.map((s) => ({ ...s })), tasks, submitters };
}
