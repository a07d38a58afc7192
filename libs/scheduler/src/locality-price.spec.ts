import { coreEquivalents, localDensity, localityPrice } from './locality-price';

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
