import { Prng } from '@constellation/scheduler';

/** Distributions over the scheduler's seeded PRNG, so a run is reproducible from its seed alone. */
export class Draw {
  private spare: number | undefined;

  constructor(readonly prng: Prng) {}

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.prng.next();
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - this.prng.next();
    const v = this.prng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and sigma of ln x. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(rate: number): number {
    return -Math.log(1 - this.prng.next()) / rate;
  }

  /** Failures before the first success, with the given mean. */
  geometric(mean: number): number {
    const p = 1 / (1 + mean);
    return Math.floor(Math.log(1 - this.prng.next()) / Math.log(1 - p));
  }

  /** Index drawn from cumulative weights. */
  categorical(cumulative: readonly number[]): number {
    const x = this.prng.next() * cumulative[cumulative.length - 1];
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}
