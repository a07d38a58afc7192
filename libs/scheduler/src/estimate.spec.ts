import { estimateTerms, groupInputsByStore, queueWaitSeconds } from './estimate';
import { bandwidthBytesPerS, haversineKm, transferSeconds } from './geo';
import { resolveResources } from './requirements';
import { CostModel, DEFAULT_COST_MODEL, SiteSnapshot, TaskRequirement } from './snapshot';
import { BARI, FREIBURG, GB, PRAGUE, site, STORES, task } from './testing/fixtures';

const stores = new Map(STORES.map((s) => [s.id, s]));
const model: CostModel = { ...DEFAULT_COST_MODEL };

function terms(s: SiteSnapshot, t: TaskRequirement) {
  return estimateTerms(s, t, resolveResources(t), groupInputsByStore(t, stores), model);
}

describe('geo', () => {
  it.each([
    { name: 'Freiburg to Prague', a: FREIBURG, b: PRAGUE, km: 532.86 },
    { name: 'Freiburg to Bari', a: FREIBURG, b: BARI, km: 1046.58 },
    { name: 'same point', a: PRAGUE, b: PRAGUE, km: 0 },
  ])('haversine $name', ({ a, b, km }) => {
    expect(haversineKm(a, b)).toBeCloseTo(km, 2);
  });

  it('has no distance without coordinates', () => {
    expect(haversineKm(FREIBURG, { latitude: null, longitude: 3 })).toBeNull();
  });

  it.each([
    { km: 0, want: 125e6 },
    { km: 1000, want: 62.5e6 },
    { km: 3000, want: 31.25e6 },
  ])('bandwidth halves at the half-bandwidth distance: $km km', ({ km, want }) => {
    expect(bandwidthBytesPerS(km, model)).toBe(want);
  });

  it.each([
    { name: '1 GB over 1000 km: 16 s plus 4 round trips of 10 ms', bytes: GB, km: 1000, want: 16.04 },
    { name: 'nothing to move costs nothing', bytes: 0, km: 1000, want: 0 },
    { name: '1 GB next door', bytes: GB, km: 0, want: 8 },
  ])('transfer: $name', ({ bytes, km, want }) => {
    expect(transferSeconds(bytes, km, model)).toBeCloseTo(want, 9);
  });
});

describe('estimateTerms', () => {
  const euInput = (bytes: number): TaskRequirement =>
    task({
      inputs: [
        { url: 'https://usegalaxy.eu/api/jobs/1/files', sizeBytes: bytes, dataStoreId: 'usegalaxy.eu' },
      ],
    });

  it.each<{ name: string; s: SiteSnapshot; t: TaskRequirement; transferS: number; wanBytes: number }>([
    {
      name: 'store listed as local',
      s: site('a', { ...PRAGUE, localDataStoreIds: ['usegalaxy.eu'] }),
      t: euInput(GB),
      transferS: 0,
      wanBytes: 0,
    },
    {
      name: 'store within 50 km is local',
      s: site('a', { latitude: 48.2, longitude: 7.9 }),
      t: euInput(GB),
      transferS: 0,
      wanBytes: 0,
    },
    {
      name: 'Freiburg store to Prague site',
      s: site('a', PRAGUE),
      t: euInput(GB),
      transferS: 12.2842,
      wanBytes: GB,
    },
    {
      name: 'unknown store counts as 1000 km',
      s: site('a', PRAGUE),
      t: task({ inputs: [{ url: 'https://x/y', sizeBytes: GB }] }),
      transferS: 16.04,
      wanBytes: GB,
    },
    {
      name: 'store without coordinates counts as 1000 km',
      s: site('a', PRAGUE),
      t: task({ inputs: [{ url: 'https://x/y', sizeBytes: GB, dataStoreId: 'nowhere' }] }),
      transferS: 16.04,
      wanBytes: GB,
    },
    {
      name: 'bytes add up per store, stores add up',
      s: site('a', BARI),
      t: task({
        inputs: [
          { url: 'https://usegalaxy.eu/a', sizeBytes: GB / 2, dataStoreId: 'usegalaxy.eu' },
          { url: 'https://usegalaxy.eu/b', sizeBytes: GB / 2, dataStoreId: 'usegalaxy.eu' },
          { url: 'https://usegalaxy.cz/c', sizeBytes: GB, dataStoreId: 'usegalaxy.cz' },
        ],
      }),
      transferS:
        transferSeconds(GB, haversineKm(FREIBURG, BARI)!, model) +
        transferSeconds(GB, haversineKm(PRAGUE, BARI)!, model),
      wanBytes: 2 * GB,
    },
    {
      name: 'inline content never moves over the WAN',
      s: site('a', BARI),
      t: task({ inputs: [{ sizeBytes: GB }] }),
      transferS: 0,
      wanBytes: 0,
    },
  ])('transfer: $name', ({ s, t, transferS, wanBytes }) => {
    const got = terms(s, t);
    expect(got.transferS).toBeCloseTo(transferS, 4);
    expect(got.wanBytes).toBe(wanBytes);
  });

  it.each([
    { name: 'reference speed', speed: 1, expected: 1000, want: 1000 },
    { name: 'twice as fast', speed: 2, expected: 1000, want: 500 },
    { name: 'slower site', speed: 0.8, expected: 1000, want: 1250 },
    { name: 'no history: the model default', speed: 1, expected: undefined, want: 600 },
    { name: 'nonsense speed counts as 1', speed: 0, expected: 300, want: 300 },
  ])('run time: $name', ({ speed, expected, want }) => {
    expect(
      terms(site('a', { performance: { speedFactor: speed } }), task({ expectedRunS: expected })).runS,
    ).toBe(want);
  });

  it('adds the three terms', () => {
    const s = site('a', {
      ...PRAGUE,
      capacity: { maxConcurrentTasks: 2 },
      load: { running: 2, queued: 1 },
      performance: { speedFactor: 2, throughputPerS: 0.01 },
    });
    const got = terms(s, { ...euInput(GB), expectedRunS: 100 });
    expect(got.queueWaitS).toBe(200);
    expect(got.runS).toBe(50);
    expect(got.totalS).toBeCloseTo(262.2842, 4);
  });

  it('measures a site again when it moved (distances are remembered per site and store)', () => {
    const s = site('a', { ...PRAGUE });
    const before = terms(s, euInput(GB)).transferS;
    Object.assign(s, BARI);
    const moved = terms(s, euInput(GB)).transferS;
    expect(moved).toBeCloseTo(transferSeconds(GB, haversineKm(FREIBURG, BARI)!, model), 9);
    expect(moved).toBeGreaterThan(before);
    Object.assign(s, FREIBURG);
    expect(terms(s, euInput(GB)).wanBytes).toBe(0);
  });
});

describe('queueWaitSeconds', () => {
  const coreSite = (claimedCores: number, claimedMem: number, throughput?: number): SiteSnapshot =>
    site('a', {
      capacity: { maxConcurrentTasks: 100, totals: { cores: 64, memoryGib: 256 } },
      load: { running: 5, queued: 3, claimed: { cores: claimedCores, memoryGib: claimedMem, gpus: 0 } },
      performance: { speedFactor: 1, throughputPerS: throughput },
    });
  const slotSite = (running: number, queued: number, throughput?: number): SiteSnapshot =>
    site('a', {
      capacity: { maxConcurrentTasks: 10 },
      load: { running, queued },
      performance: { speedFactor: 1, throughputPerS: throughput },
    });

  it.each([
    { name: 'cores free: starts at once', s: coreSite(56, 100), t: task({ cpuCores: 8, ramGb: 8 }), want: 0 },
    {
      name: '8 cores short at 0.1 cores/s',
      s: coreSite(64, 100, 0.1),
      t: task({ cpuCores: 8, ramGb: 8 }),
      want: 80,
    },
    {
      name: 'without throughput: site size over the default run time',
      s: coreSite(64, 100),
      t: task({ cpuCores: 8, ramGb: 8 }),
      want: (8 * 600) / 64,
    },
    {
      name: 'memory short by a quarter of the site weighs as a quarter of its cores',
      s: coreSite(8, 256, 1),
      t: task({ cpuCores: 1, ramGb: (64 * 2 ** 30) / 1e9 }),
      want: 16,
    },
    { name: 'slots free', s: slotSite(5, 4), t: task(), want: 0 },
    { name: 'slots: two tasks ahead beyond the limit', s: slotSite(8, 3, 0.5), t: task(), want: 4 },
    { name: 'slots without throughput', s: slotSite(10, 0), t: task(), want: 60 },
    {
      name: 'zero throughput never drains',
      s: slotSite(10, 0, 0),
      t: task(),
      want: Number.POSITIVE_INFINITY,
    },
  ])('$name', ({ s, t, want }) => {
    expect(queueWaitSeconds(s, resolveResources(t), model)).toBeCloseTo(want, 9);
  });
});
