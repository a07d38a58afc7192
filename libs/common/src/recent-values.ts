/**
 * Values reused for a short, fixed time after they were read: a hot read (a token's principal, a site's
 * connection) costs one statement per `ttlMs` instead of one per use. What changes through this process
 * calls clear(); a change made elsewhere is seen within `ttlMs`. Past `maxEntries` it starts over rather
 * than grow, so a flood of distinct keys cannot fill memory.
 */
export class RecentValues<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {
    if (!(ttlMs > 0) || !Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new Error(`RecentValues needs ttlMs > 0 and maxEntries >= 1 (got ${ttlMs}, ${maxEntries})`);
    }
  }

  /** The value kept for `key` if it was set less than ttlMs before `now`. */
  get(key: K, now: number): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.expiresAt > now) return hit.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: K, value: V, now: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, { value, expiresAt: now + this.ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
