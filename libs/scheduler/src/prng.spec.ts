import { mulberry32, nextInt } from './prng';

describe('mulberry32', () => {
  it.each([
    { seed: 1, want: [0.6270739405881613, 0.002735721180215478] },
    { seed: 7, want: [0.011704753153026104, 0.06195825757458806] },
  ])('seed $seed gives the reference sequence', ({ seed, want }) => {
    const prng = mulberry32(seed);
    expect([prng.next(), prng.next()]).toEqual(want);
  });

  it('stays in [0, 1) and fills ten buckets evenly', () => {
    const prng = mulberry32(123);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = prng.next();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[nextInt({ next: () => x }, 10)] += 1;
    }
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(400);
  });
});
