/**
 * A token bucket per key (a site): `perSecond` requests a second, in bursts of at most a second's worth. One
 * per replica: N replicas ask a site at most N times the budget.
 */
export class RequestBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, perSecond);
  }

  /** Takes up to `wanted` requests from the key's budget now; how many it may send. */
  take(key: string, wanted: number): number {
    const bucket = this.refilled(key);
    const granted = Math.max(0, Math.min(wanted, Math.floor(bucket.tokens)));
    bucket.tokens -= granted;
    return granted;
  }

  /** Milliseconds from now until the budget allows the `n`th request after those already taken (n ≥ 1). */
  waitMs(key: string, n: number): number {
    const bucket = this.refilled(key);
    return Math.max(0, ((n - bucket.tokens) / this.perSecond) * 1000);
  }

  private refilled(key: string): { tokens: number; at: number } {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.capacity, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    return bucket;
  }
}
