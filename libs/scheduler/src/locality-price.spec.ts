import {
  bucketDensity,
  bucketedDemand,
  bucketedLocalityPrice,
  coreEquivalents,
  densityBucket,
  localDensity,
  localityPrice,
} from './locality-price';

/** A task's demand on the local cores: the bytes it would read locally and the core-seconds it needs. */
const d = (bytes: number, coreS: number) => ({ bytes, coreS });

describe('localityPrice', () => {
  it.each([
    { name: 'no demand', demand: [], capacity: 100, want: 0 },
    { name: 'demand fits the capacity', demand: [d(10, 40), d(1, 60)], capacity: 100, want: 0 },
    {
      name: 'densest first: the marginal task sets the price',
      demand: [d(100, 50), d(1000, 10), d(10, 100)],
      capacity: 30,
      want: 2,
    },
    {
      name: 'exactly full at a task: its density',
      demand: [d(1000, 10), d(100, 50)],
      capacity: 10,
      want: 100,
    },
    { name: 'zero-cost tasks are skipped', demand: [d(5, 0), d(40, 200)], capacity: 100, want: 0.2 },
    { name: 'no capacity at all', demand: [d(1, 1)], capacity: 0, want: Number.POSITIVE_INFINITY },
  ])('$name -> $want', ({ demand, capacity, want }) => {
    expect(localityPrice(demand, capacity)).toBe(want);
  });
});

describe('localDensity', () => {
  it.each([
    { bytes: 1e9, cores: 4, runS: 250, want: 1e6 },
    { bytes: 1e9, cores: 1, runS: 0.5, want: 1e9 },
    { bytes: 0, cores: 2, runS: 10, want: 0 },
  ])('$bytes B on $cores cores for $runS s -> $want', ({ bytes, cores, runS, want }) => {
    expect(localDensity(bytes, cores, runS)).toBe(want);
  });
});

describe('coreEquivalents', () => {
  it.each([
    { name: 'cores dominate', totals: { cores: 32, memoryGib: 128 }, cores: 4, mem: 8, want: 4 },
    { name: 'memory dominates', totals: { cores: 32, memoryGib: 128 }, cores: 3, mem: 64, want: 16 },
    { name: 'no memory total', totals: { cores: 32 }, cores: 3, mem: 64, want: 3 },
    { name: 'no totals', totals: undefined, cores: 2, mem: 64, want: 2 },
  ])('$name -> $want', ({ totals, cores, mem, want }) => {
    expect(coreEquivalents({ capacity: { totals } }, cores, mem)).toBe(want);
  });
});

describe('density buckets', () => {
  it.each([
    { density: 1, bucket: 0 },
    { density: 10, bucket: 8 },
    { density: 1.3, bucket: 0 },
    { density: 1.34, bucket: 1 },
    { density: 0.5, bucket: -3 },
    { density: 2e6, bucket: 50 },
    { density: 0, bucket: -80 },
    { density: -1, bucket: -80 },
    { density: Number.NaN, bucket: -80 },
    { density: 1e-30, bucket: -80 },
    { density: 1e40, bucket: 160 },
  ])('$density bytes per core-second -> bucket $bucket', ({ density, bucket }) => {
    expect(densityBucket(density)).toBe(bucket);
  });

  it("a bucket's density is its lower edge: every density in it is at least that, and below the next", () => {
    for (const density of [0.02, 1, 7.7, 1234.5, 3.3e9]) {
      const b = densityBucket(density);
      expect(bucketDensity(b)).toBeLessThanOrEqual(density * (1 + 1e-12));
      expect(bucketDensity(b + 1)).toBeGreaterThan(density);
    }
  });

  it("the price from buckets is the marginal bucket's lower edge", () => {
    // Densities 1000, 100 and 2 (buckets 24, 16 and 2): the capacity runs out in the bucket of 2.
    const buckets = [
      { bucket: densityBucket(1000), coreS: 10 },
      { bucket: densityBucket(100), coreS: 50 },
      { bucket: densityBucket(2), coreS: 100 },
    ];
    expect(bucketedLocalityPrice(buckets, 30)).toBeCloseTo(100, 9);
    expect(bucketedLocalityPrice(buckets, 70)).toBeCloseTo(10 ** (2 / 8), 9);
    expect(bucketedLocalityPrice(buckets, 160)).toBe(0);
  });

  it('a task kept in its bucket keeps its core-seconds and rounds its bytes down to the edge', () => {
    const kept = bucketedDemand({ bytes: 5000, coreS: 2 });
    expect(kept.coreS).toBe(2);
    expect(kept.bytes).toBeLessThanOrEqual(5000);
    expect(kept.bytes).toBeGreaterThan(5000 / 1.34);
    expect(bucketedDemand({ bytes: 5, coreS: 0 })).toEqual({ bytes: 5, coreS: 0 });
  });
});
