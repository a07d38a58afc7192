import { place } from '../placement';
import { PolicyName } from '../policy';
import { mulberry32 } from '../prng';
import { SiteSnapshot, TaskRequirement } from '../snapshot';
import { BARI, coresHeld, FREIBURG, GB, PRAGUE, request, site, task } from '../testing/fixtures';
import { tpvBrokerScore } from './tpv-broker.policy';

const euData = (bytes: number): TaskRequirement =>
  task({
    inputs: [{ url: 'https://usegalaxy.eu/api/jobs/1/files', sizeBytes: bytes, dataStoreId: 'usegalaxy.eu' }],
  });

const loaded = (
  id: string,
  running: number,
  queued: number,
  extra: Partial<SiteSnapshot> = {},
): SiteSnapshot => site(id, { load: { running, queued }, ...extra });

function choose(policy: PolicyName, sites: SiteSnapshot[], t: TaskRequirement = task()): string | null {
  return place(request(sites, t), { policy, context: { prng: mulberry32(1) } }).siteId ?? null;
}

describe('random', () => {
  it('draws uniformly from the placeable sites only, reproducibly for a seed', () => {
    const sites = [
      site('a'),
      site('b'),
      loaded('full', 10, 0),
      site('c'),
      site('off', { health: 'offline' }),
    ];
    const prng = mulberry32(42);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      const id = place(request(sites), { policy: 'random', context: { prng } }).siteId as string;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['a', 'b', 'c']);
    for (const n of Object.values(counts)) expect(Math.abs(n - 1000)).toBeLessThan(90);
  });

  it.each([
    { seed: 1, want: 'b' },
    { seed: 2, want: 'c' },
    { seed: 7, want: 'a' },
  ])('seed $seed picks $want', ({ seed, want }) => {
    const sites = [site('c'), site('a'), site('b')];
    expect(place(request(sites), { policy: 'random', context: { prng: mulberry32(seed) } }).siteId).toBe(
      want,
    );
  });
});

describe('round-robin', () => {
  it.each([
    { name: 'first placement starts at the lowest id', last: undefined, want: 'a' },
    { name: 'continues after the last choice', last: 'a', want: 'c' },
    { name: 'skips the full site', last: 'a', want: 'c' },
    { name: 'wraps around', last: 'c', want: 'a' },
    { name: 'last site gone from the snapshot', last: 'bb', want: 'c' },
  ])('$name', ({ last, want }) => {
    const sites = [site('c'), loaded('b', 10, 0), site('a')];
    const got = place(request(sites), {
      policy: 'round-robin',
      context: { prng: mulberry32(1), lastRoundRobinSiteId: last },
    });
    expect(got.siteId).toBe(want);
  });

  it('ignores data locality and load', () => {
    const sites = [site('a', { ...BARI, load: { running: 9, queued: 0 } }), site('b', { ...FREIBURG })];
    expect(choose('round-robin', sites, euData(50 * GB))).toBe('a');
  });
});

describe('least-loaded', () => {
  it.each<{ name: string; sites: SiteSnapshot[]; want: string }>([
    { name: 'fewer tasks per admission slot', sites: [loaded('a', 5, 0), loaded('b', 2, 1)], want: 'b' },
    {
      name: 'relative to size, not absolute counts',
      sites: [
        loaded('small', 1, 0, { capacity: { maxConcurrentTasks: 2 } }),
        loaded('big', 10, 0, { capacity: { maxConcurrentTasks: 100 } }),
      ],
      want: 'big',
    },
    {
      name: 'cores held, when totals are known',
      sites: [
        site('a', coresHeld({ cores: 16, running: 1, claimed: 12, claimedMemoryGib: 1 })),
        site('b', coresHeld({ cores: 64, running: 4, claimed: 16, claimedMemoryGib: 1 })),
      ],
      want: 'b',
    },
    {
      name: 'equal ratio: fewer tasks',
      sites: [loaded('a', 4, 0, { capacity: { maxConcurrentTasks: 20 } }), loaded('b', 2, 0)],
      want: 'b',
    },
    { name: 'all equal: lowest id', sites: [loaded('b', 1, 0), loaded('a', 1, 0)], want: 'a' },
  ])('$name', ({ sites, want }) => {
    expect(choose('least-loaded', sites, euData(GB))).toBe(want);
  });
});

describe('locality', () => {
  it.each<{ name: string; sites: SiteSnapshot[]; t: TaskRequirement; want: string }>([
    {
      name: 'the local site even when busier and slower',
      sites: [
        loaded('near', 9, 0, { ...FREIBURG, performance: { speedFactor: 0.7 } }),
        site('far', { ...PRAGUE }),
      ],
      t: euData(GB),
      want: 'near',
    },
    {
      name: 'nearest when none is local',
      sites: [site('bari', { ...BARI }), site('prague', { ...PRAGUE })],
      t: euData(GB),
      want: 'prague',
    },
    {
      name: 'no inputs: the emptier site',
      sites: [loaded('a', 3, 0), loaded('b', 1, 0)],
      t: task(),
      want: 'b',
    },
    {
      name: 'local site full: the next nearest',
      sites: [loaded('near', 10, 0), site('bari', { ...BARI }), site('prague', { ...PRAGUE })],
      t: euData(GB),
      want: 'prague',
    },
  ])('$name', ({ sites, t, want }) => {
    expect(choose('locality', sites, t)).toBe(want);
  });
});

describe('tpv-broker', () => {
  it.each([
    { name: 'both terms', q: 2, r: 4, mq: 10, mr: 100, want: 1 / 20 + 1 / 400 },
    { name: 'nothing queued is infinite', q: 0, r: 4, mq: 10, mr: 100, want: Number.POSITIVE_INFINITY },
    { name: 'nothing running is infinite', q: 3, r: 0, mq: 10, mr: 100, want: Number.POSITIVE_INFINITY },
    { name: 'zero median floored at 1 s', q: 2, r: 2, mq: 0, mr: 0, want: 1 },
    {
      name: 'unknown medians use the model default',
      q: 1,
      r: 1,
      mq: undefined,
      mr: undefined,
      want: 2 / 600,
    },
  ])('score: $name', ({ q, r, mq, mr, want }) => {
    const s = site('a', {
      load: { running: r, queued: q },
      performance: { speedFactor: 1, medianQueueS: mq, medianRunS: mr },
    });
    expect(tpvBrokerScore(s, 600)).toBeCloseTo(want, 12);
  });

  const withStats = (
    id: string,
    running: number,
    queued: number,
    extra: Partial<SiteSnapshot> = {},
  ): SiteSnapshot =>
    site(id, {
      load: { running, queued },
      performance: { speedFactor: 1, medianQueueS: 60, medianRunS: 600 },
      ...extra,
    });

  it.each<{ name: string; sites: SiteSnapshot[]; want: string }>([
    {
      name: 'higher score wins over distance',
      sites: [withStats('near', 4, 2, { ...FREIBURG }), withStats('far', 1, 1, { ...BARI })],
      want: 'far',
    },
    {
      name: 'equal scores: the nearer site to the data',
      sites: [withStats('bari', 2, 0, { ...BARI }), withStats('prague', 5, 0, { ...PRAGUE })],
      want: 'prague',
    },
    {
      // With the published code's swap, 'a' (3 queued, 1 running) would score as 'b' does and win on id.
      name: 'queued and running are not swapped',
      sites: [withStats('a', 1, 3, { ...PRAGUE }), withStats('b', 3, 1, { ...PRAGUE })],
      want: 'b',
    },
    {
      name: 'only sites with unclaimed cores for the request',
      sites: [
        withStats('near', 0, 0, {
          ...FREIBURG,
          ...coresHeld({ cores: 8, memoryGib: 64, claimed: 6, claimedMemoryGib: 8 }),
        }),
        withStats('far', 5, 5, {
          ...BARI,
          ...coresHeld({ cores: 64, memoryGib: 256, running: 5, claimed: 20, claimedMemoryGib: 8 }),
        }),
      ],
      want: 'far',
    },
    {
      name: 'no site with unclaimed room: all placeable sites stay in',
      sites: [
        withStats('near', 0, 0, {
          ...FREIBURG,
          ...coresHeld({ cores: 4, memoryGib: 64, running: 1, queued: 1, claimed: 2, claimedMemoryGib: 8 }),
        }),
        withStats('far', 0, 0, {
          ...BARI,
          ...coresHeld({ cores: 4, memoryGib: 64, running: 1, queued: 1, claimed: 2, claimedMemoryGib: 8 }),
        }),
      ],
      want: 'near',
    },
  ])('$name', ({ sites, want }) => {
    expect(choose('tpv-broker', sites, { ...euData(GB), cpuCores: 4 })).toBe(want);
  });
});

describe('every policy', () => {
  it.each<PolicyName>(['ect', 'random', 'round-robin', 'least-loaded', 'locality', 'tpv-broker'])(
    '%s never places on an infeasible, draining, offline or full site',
    (policy) => {
      const sites = [
        site('a', { capacity: { maxConcurrentTasks: 10, perTask: { cores: 1 } } }),
        site('b', { adminState: 'draining' }),
        site('c', { health: 'offline' }),
        loaded('d', 10, 0),
        site('e', { ...BARI }),
      ];
      expect(choose(policy, sites, { ...euData(GB), cpuCores: 2 })).toBe('e');
    },
  );
});

describe('ect: locality price on scarce local capacity', () => {
  const NOW = 1_700_000_000;
  const nemo = (claimedCores: number, price: number): SiteSnapshot =>
    site('nemo', {
      localDataStoreIds: ['usegalaxy.eu'],
      capacity: { maxConcurrentTasks: 32, totals: { cores: 32, memoryGib: 128 } },
      load: { running: 0, queued: 0, claimed: { cores: claimedCores, memoryGib: claimedCores * 4, gpus: 0 } },
      performance: { speedFactor: 0.8, throughputPerS: 32 / 100, localityPrice: price },
    });
  const far = site('far', {
    ...PRAGUE,
    country: 'CZ',
    ...coresHeld({ cores: 64, memoryGib: 256, maxTasks: 64, claimed: 0, claimedMemoryGib: 0 }),
    performance: { speedFactor: 1.3 },
  });
  const euTask = (bytes: number, waitedS: number, cpuCores = 1): TaskRequirement => ({
    ...euData(bytes),
    cpuCores,
    expectedRunS: 100,
    queuedAt: NOW - waitedS,
  });

  it.each([
    // 10 GB on 1 core for 125 s at nemo: 8e7 B/core-s, above the price; nemo wins though far is faster.
    {
      name: 'a dense task takes its free local site',
      claimed: 0,
      price: 1e6,
      bytes: 10 * GB,
      waited: 0,
      want: 'nemo',
    },
    {
      name: 'without a price ect picks the faster total',
      claimed: 0,
      price: 0,
      bytes: 0.01 * GB,
      waited: 0,
      want: 'far',
    },
    // 10 MB: 8e4 B/core-s, below the price; nemo would keep 30/32 free, so it may still use it.
    {
      name: 'a sparse task may use half-free priced capacity',
      claimed: 0,
      price: 1e6,
      bytes: 0.01 * GB,
      waited: 0,
      want: 'nemo',
    },
    {
      name: 'a sparse task keeps off the last half',
      claimed: 16,
      price: 1e6,
      bytes: 0.01 * GB,
      waited: 0,
      want: 'far',
    },
    {
      name: 'a dense task waits for its full local site',
      claimed: 32,
      price: 1e6,
      bytes: 10 * GB,
      waited: 100,
      want: null,
    },
    {
      name: '... up to the transfer time it saves',
      claimed: 32,
      price: 1e6,
      bytes: 10 * GB,
      waited: 130,
      want: 'far',
    },
  ])('$name', ({ claimed, price, bytes, waited, want }) => {
    const got = place(
      { ...request([nemo(claimed, price), far], euTask(bytes, waited)), now: NOW },
      {
        policy: 'ect',
      },
    );
    expect(got.siteId ?? null).toBe(want);
  });

  it.each([
    { waited: 599, want: null },
    { waited: 600, want: 'nemo' },
  ])(
    'a sparse task only a priced site can take waits up to the default run time: $waited s -> $want',
    ({ waited, want }) => {
      const fullFar = {
        ...far,
        load: { running: 64, queued: 0, claimed: { cores: 64, memoryGib: 256, gpus: 0 } },
      };
      const got = place(
        { ...request([nemo(20, 1e6), fullFar], euTask(0.01 * GB, waited)), now: NOW },
        { policy: 'ect' },
      );
      expect(got.siteId ?? null).toBe(want);
    },
  );
});
