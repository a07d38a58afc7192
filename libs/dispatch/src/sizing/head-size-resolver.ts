import { carriesSecret } from './secret-query';

export interface HeadSizingOptions {
  /** Longest one HEAD may take before its size counts as unknown. */
  timeoutMs: number;
  /** Most HEAD requests in flight at once; 0 turns sizing off. */
  concurrency: number;
  /** Most URLs remembered (known sizes and failed lookups together); the least recently used go first. */
  cacheEntries: number;
  /** How long a learned size is trusted. */
  cacheMs: number;
}

/** Asks a store for the size of a URL: its Content-Length, or undefined. Throws on a network failure. */
export type HeadRequest = (url: string, timeoutMs: number) => Promise<number | undefined>;

/**
 * A URL to size, and whether its data store lets the broker HEAD it when its query carries a credential
 * (`head_signed_urls`). A plain string is a URL whose store does not.
 */
export type SizeLookup = string | { url: string; headSigned: boolean };

function lookupOf(x: SizeLookup): { url: string; headSigned: boolean } {
  return typeof x === 'string' ? { url: x, headSigned: false } : x;
}

/** A failed lookup is retried sooner than a size expires: a store that was down may come back. */
const FAILURE_MS_CAP = 5 * 60_000;

interface CacheEntry {
  bytes?: number;
  expiresAt: number;
}

export const headContentLength: HeadRequest = async (url, timeoutMs) => {
  const res = await fetch(url, {
    method: 'HEAD',
    redirect: 'follow',
    signal: AbortSignal.timeout(timeoutMs),
  });
  // A HEAD has no body to read, but undici keeps the socket until the response is consumed.
  await res.body?.cancel();
  if (!res.ok) return undefined;
  const raw = res.headers.get('content-length');
  if (raw === null || !/^\d+$/.test(raw.trim())) return undefined;
  const bytes = Number(raw);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
};

/**
 * Learns the sizes of http(s) inputs with bounded HEAD requests: a timeout each, a limit on those in flight,
 * a bounded cache by URL with expiry, and none for URLs that carry a credential (in the query, only where the
 * URL's store does not allow it). Placement never waits for
 * it beyond its budget (see `settle`); what is not known by then counts at the fallback size.
 */
export class HeadSizeResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly queue: { url: string; done: () => void }[] = [];
  private active = 0;

  constructor(
    private readonly options: HeadSizingOptions,
    private readonly head: HeadRequest = headContentLength,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Whether the broker may ask the store for this URL's size at all; `headSigned` when the store allows it
   * for URLs whose query carries a credential (never for a user name or password in the URL).
   */
  static sizable(url: string, headSigned = false): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    return (
      (parsed.protocol === 'http:' || parsed.protocol === 'https:') && !carriesSecret(parsed, headSigned)
    );
  }

  /** The size learned for `url`, if it is known and fresh. */
  known(url: string): number | undefined {
    const entry = this.fresh(url);
    if (entry === undefined) return undefined;
    // Map order is the eviction order: a size placement uses stays.
    this.cache.delete(url);
    this.cache.set(url, entry);
    return entry.bytes;
  }

  /**
   * Starts looking up every sizable URL not already known or being looked up, and returns the lookups still
   * pending for them. Lookups beyond the cache's size are not queued: the next round asks again.
   */
  request(lookups: Iterable<SizeLookup>): Promise<void>[] {
    const waits: Promise<void>[] = [];
    if (this.options.concurrency <= 0) return waits;
    for (const { url, headSigned } of allowedOnce(lookups)) {
      const inFlight = this.pending.get(url);
      if (inFlight !== undefined) {
        waits.push(inFlight);
        continue;
      }
      if (this.fresh(url) !== undefined || !HeadSizeResolver.sizable(url, headSigned)) continue;
      if (this.pending.size >= this.options.cacheEntries) break;
      const lookup = new Promise<void>((done) => this.queue.push({ url, done })).finally(() =>
        this.pending.delete(url),
      );
      this.pending.set(url, lookup);
      waits.push(lookup);
    }
    this.drain();
    return waits;
  }

  /**
   * Starts the lookups and waits for them at most `budgetMs`: what is still pending then finishes in the
   * background and serves later rounds.
   */
  async settle(lookups: Iterable<SizeLookup>, budgetMs: number): Promise<void> {
    const waits = this.request(lookups);
    if (waits.length === 0 || budgetMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs))),
    ]);
    clearTimeout(timer);
  }

  /** Lookups queued or in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  private fresh(url: string): CacheEntry | undefined {
    const entry = this.cache.get(url);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock()) return entry;
    this.cache.delete(url);
    return undefined;
  }

  private drain(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      const next = this.queue.shift() as { url: string; done: () => void };
      this.active++;
      void this.lookUp(next.url).finally(() => {
        this.active--;
        next.done();
        this.drain();
      });
    }
  }

  private async lookUp(url: string): Promise<void> {
    let bytes: number | undefined;
    try {
      bytes = await this.head(url, this.options.timeoutMs);
    } catch {
      // A store that refuses, resets or does not answer in time: the size stays unknown for a while.
      bytes = undefined;
    }
    const ttl = bytes === undefined ? Math.min(this.options.cacheMs, FAILURE_MS_CAP) : this.options.cacheMs;
    this.cache.delete(url);
    this.cache.set(url, { bytes, expiresAt: this.clock() + ttl });
    while (this.cache.size > this.options.cacheEntries) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
  }
}

/** Each URL once; allowed to carry a credential when any of its lookups says its store allows that. */
function allowedOnce(lookups: Iterable<SizeLookup>): { url: string; headSigned: boolean }[] {
  const byUrl = new Map<string, boolean>();
  for (const x of lookups) {
    const { url, headSigned } = lookupOf(x);
    byUrl.set(url, headSigned || (byUrl.get(url) ?? false));
  }
  return [...byUrl].map(([url, headSigned]) => ({ url, headSigned }));
}

/** The resolver as configured (CONSTELLATION_SIZE_*). */
export function headSizeResolver(config: {
  sizeHeadTimeoutSeconds: number;
  sizeHeadConcurrency: number;
  sizeCacheEntries: number;
  sizeCacheSeconds: number;
}): HeadSizeResolver {
  return new HeadSizeResolver({
    timeoutMs: config.sizeHeadTimeoutSeconds * 1000,
    concurrency: config.sizeHeadConcurrency,
    cacheEntries: config.sizeCacheEntries,
    cacheMs: config.sizeCacheSeconds * 1000,
  });
}
