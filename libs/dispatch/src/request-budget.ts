/**
 * A token bucket per key (a site): `perSecond` requests a second, in bursts of at most a second's worth; and,
 * for requests the bucket cannot take now, a queue of turns one interval apart, so that those that waited
 * go first. One per replica: N replicas ask a site at most N times the budget.
 */
export class RequestBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number; tail: number }>();
  private readonly capacity: number;
  private readonly intervalMs: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, perSecond);
    this.intervalMs = 1000 / perSecond;
  }

  /** Takes up to `wanted` requests from the key's budget now; how many it may send. */
  take(key: string, wanted: number): number {
    const bucket = this.refilled(key);
    const granted = Math.max(0, Math.min(wanted, Math.floor(bucket.tokens)));
    bucket.tokens -= granted;
    return granted;
  }

  /** True while turns are handed out ahead of now: requests must queue for one. */
  queueing(key: string): boolean {
    return this.refilled(key).tail > this.now();
  }

  /** The next free turn (milliseconds since the epoch), after every turn handed out before. */
  nextTurn(key: string): number {
    const bucket = this.refilled(key);
    bucket.tail = Math.max(bucket.tail, this.now()) + this.intervalMs;
    return bucket.tail;
  }

  private refilled(key: string): { tokens: number; at: number; tail: number } {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.capacity, at: now, tail: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    return bucket;
  }
}
