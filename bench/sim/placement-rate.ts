/**
 * The scheduler's cost: placements per second of the default policy against a synthetic network of n sites.
 * `npx ts-node --transpile-only -r tsconfig-paths/register bench/sim/placement-rate.ts [sites...]` prints it
 * alone (wall-clock and CPU-time rates), without the hour of simulation around it.
 */
import {
  DataStoreSnapshot,
  mulberry32,
  place,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
} from '@constellation/scheduler';
import { loadNetwork } from './network';
import { Draw } from './random';

/** Placements per second of wall-clock time and of this process's CPU time (the machine may be shared). */
export interface PlacementRate {
  wall: number;
  cpu: number;
}

/** The benchmark's placements: `n` sites, their stores, the tasks placed in turn and their submitter. */
export interface RateNetwork {
  sites: SiteSnapshot[];
  stores: DataStoreSnapshot[];
  tasks: TaskRequirement[];
  submitter: SubmitterSnapshot;
}

/** A synthetic network of `n` sites built from the real one, the same for the same `n`. */
export function rateNetwork(n: number): RateNetwork {
  const network = loadNetwork();
  const draw = new Draw(mulberry32(n));
  // Its own stream, so the sites and tasks are the same as without running tasks.
  const runningDraw = new Draw(mulberry32(n + 1));
  const stores: DataStoreSnapshot[] = network.stores.map((s) => ({ ...s }));
  const sites: SiteSnapshot[] = Array.from({ length: n }, (_, i) => {
    const base = network.sites[i % network.sites.length];
    const cores = 64;
    const claimed = Math.floor(draw.uniform(0, 80));
    const running = Math.min(claimed, 40);
    // The broker's running tasks there, as dispatch reads them: the queue-wait estimate floors on their ends.
    const runningTasks = Array.from({ length: running }, () => ({
      cores: claimed / running,
      memoryGib: (claimed * 4) / running,
      startedAt: runningDraw.uniform(0, 1000),
      expectedRunS: runningDraw.lognormal(600, 1.5),
    }));
    return {
      id: `site-${String(i).padStart(4, '0')}`,
      slug: `site-${i}`,
      country: base.country,
      latitude: base.latitude + draw.uniform(-2, 2),
      longitude: base.longitude + draw.uniform(-2, 2),
      kind: 'pulsar-amqp',
      adminState: i % 20 === 7 ? 'draining' : 'active',
      health: i % 25 === 3 ? 'offline' : 'up',
      capacity: {
        maxConcurrentTasks: cores,
        totals: { cores, memoryGib: 256, gpus: 0 },
        perTask: { cores: base.perTask.cores, memoryGib: base.perTask.memoryGib, gpus: base.perTask.gpus },
      },
      runtimes: ['singularity'],
      localDataStoreIds: i % 17 === 16 ? ['usegalaxy.eu'] : [],
      schemes: { inputs: ['*'], outputs: ['*'] },
      load: {
        running,
        queued: 0,
        claimed: { cores: claimed, memoryGib: claimed * 4, gpus: 0 },
        runningTasks,
      },
      performance: { speedFactor: draw.uniform(0.7, 1.3), throughputPerS: 0.05 },
    };
  });
  const tasks: TaskRequirement[] = Array.from({ length: 64 }, (_, i) => ({
    id: `t${i}`,
    cpuCores: [1, 1, 2, 4, 8, 16][i % 6],
    ramGb: [4, 8, 16, 30][i % 4],
    inputs: [
      {
        url: `https://usegalaxy.eu/api/jobs/${i}/files`,
        sizeBytes: Math.round(draw.lognormal(1e8, 2)),
        dataStoreId: network.stores[i % network.stores.length].id,
      },
    ],
    expectedRunS: draw.lognormal(60, 1.5),
    queuedAt: 0,
  }));
  const submitter = { id: 'usegalaxy.eu', allowedSiteIds: [], quota: null, weight: 1, running: 0 };
  return { sites, stores, tasks, submitter };
}

/** Placements per second of the default policy against a synthetic network of `n` sites. */
export function placementsPerSecond(n: number): PlacementRate {
  const { sites, stores, tasks, submitter } = rateNetwork(n);
  const call = (i: number): void => {
    place({ now: 1000, sites, dataStores: stores, task: tasks[i % tasks.length], submitter });
  };
  for (let i = 0; i < 2000; i++) call(i);
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1.5) {
    for (let i = 0; i < 500; i++) call(calls++);
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: calls / elapsed, cpu: calls / ((cpu.user + cpu.system) / 1e6) };
}

if (require.main === module) {
  const counts = process.argv.slice(2).map(Number);
  for (const n of counts.length > 0 ? counts : [100, 1000]) {
    const rate = placementsPerSecond(n);
    console.log(
      `${n} sites: ${Math.round(rate.wall)} placements/s of wall time, ${Math.round(rate.cpu)} of CPU time`,
    );
  }
}
