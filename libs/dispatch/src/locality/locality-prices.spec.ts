import {
  densityBucket,
  localDemandOf,
  type Candidate,
  type SiteSnapshot,
  type TaskRequirement,
} from '@constellation/scheduler';
import { applyLocalityPrices, localityNotes } from './locality-prices';

const site = (id: string, cores: number | undefined, stores: string[]): SiteSnapshot =>
  ({
    id,
    slug: id,
    localDataStoreIds: stores,
    capacity: {
      maxConcurrentTasks: 10,
      totals: cores === undefined ? undefined : { cores, memoryGib: cores * 4 },
    },
    performance: { speedFactor: 1 },
  }) as unknown as SiteSnapshot;

const candidate = (siteId: string, runS: number, wanBytes: number, placeable = true): Candidate => ({
  siteId,
  slug: siteId,
  feasible: placeable,
  placeable,
  queueWaitS: 0,
  transferS: 0,
  runS,
  totalS: runS,
  wanBytes,
});

const NOW = 1_800_000_000;

describe('applyLocalityPrices', () => {
  const demand = (coreS: number, density: number, firstAgoS: number) => ({
    buckets: [{ bucket: densityBucket(density), coreS }],
    tasks: 1,
    first: new Date((NOW - firstAgoS) * 1000),
  });

  it.each([
    {
      name: 'demand beyond 90 % of the span: the marginal bucket',
      cores: 4,
      coreS: 20_000,
      ago: 3600,
      want: 1000,
    },
    { name: 'demand that fits: no price', cores: 4, coreS: 12_000, ago: 3600, want: undefined },
    {
      name: 'one task after a quiet spell: the span is the default run',
      cores: 4,
      coreS: 1800,
      ago: 5,
      want: undefined,
    },
    { name: 'more than 90 % of the default run at once: a price', cores: 4, coreS: 3000, ago: 5, want: 1000 },
    {
      name: 'older than the window: the window is the span',
      cores: 1,
      coreS: 3_000,
      ago: 90_000,
      want: undefined,
    },
    { name: 'no published cores: no price', cores: undefined, coreS: 1e9, ago: 3600, want: undefined },
  ])('$name', ({ cores, coreS, ago, want }) => {
    const s = site('s', cores, ['store']);
    const prices = applyLocalityPrices([s], new Map([['s', demand(coreS, 1000, ago)]]), NOW, 3600);
    if (want === undefined) {
      expect(prices.size).toBe(0);
      expect(s.performance.localityPrice).toBeUndefined();
    } else {
      expect(s.performance.localityPrice).toBeCloseTo(want, 6);
      expect(prices.get('s')).toBe(s.performance.localityPrice);
    }
  });

  it('prices only sites local to a data store', () => {
    const s = site('s', 4, []);
    expect(applyLocalityPrices([s], new Map([['s', demand(1e9, 1000, 3600)]]), NOW, 3600).size).toBe(0);
  });
});

describe('localDemandOf and localityNotes', () => {
  const task: TaskRequirement = {
    id: 't',
    cpuCores: 2,
    ramGb: 1,
    inputs: [
      { url: 'https://galaxy.example.org/a', sizeBytes: 6e9, dataStoreId: 'eu' },
      { url: 'https://other.example.org/b', sizeBytes: 1e9, dataStoreId: 'be' },
      { url: 'https://nowhere.example.org/c', sizeBytes: 5e8 },
    ],
  };
  const nemo = site('nemo', 32, ['eu']);
  const be01 = site('be01', 16, ['be']);
  const far = site('far', 64, []);

  it('counts, per site local to the data, the local bytes and the core-seconds at its expected run', () => {
    const entries = localDemandOf(
      task,
      [candidate('nemo', 1000, 1.5e9), candidate('be01', 500, 6.5e9)],
      [nemo, be01, far],
    );
    expect(entries).toEqual([
      { siteId: 'nemo', bucket: densityBucket(6e9 / 2000), coreS: 2000, bytes: 6e9 },
      { siteId: 'be01', bucket: densityBucket(1e9 / 1000), coreS: 1000, bytes: 1e9 },
    ]);
  });

  it('memory counts as the cores it blocks', () => {
    const big = { ...task, cpuCores: 1, ramGb: 64 * 1.073741824 };
    const [entry] = localDemandOf(big, [candidate('nemo', 100, 0)], [nemo]);
    expect(entry.coreS).toBeCloseTo((64 / 128) * 32 * 100, 6);
  });

  it('a site the task could not use asks nothing of it', () => {
    expect(localDemandOf(task, [candidate('nemo', 1000, 0, false)], [nemo])).toEqual([]);
    expect(localDemandOf(task, [], [nemo])).toEqual([]);
  });

  it("notes each priced site with the task's own saving there", () => {
    const priced = { ...nemo, performance: { speedFactor: 1, localityPrice: 2e6 } } as SiteSnapshot;
    const notes = localityNotes(
      task,
      [candidate('nemo', 1000, 1.5e9), candidate('far', 900, 7.5e9)],
      [priced, far],
    );
    expect(notes).toEqual([
      { site_id: 'nemo', site: 'nemo', price_bytes_per_core_s: 2e6, task_bytes_per_core_s: 3e6, earns: true },
    ]);
    expect(localityNotes(task, [candidate('far', 900, 7.5e9)], [far])).toEqual([]);
  });
});
