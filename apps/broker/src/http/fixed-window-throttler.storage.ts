import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  startedAt: number;
  hits: number;
}

/**
 * Fixed-window counters: O(1) per request. The stock in-memory storage keeps one timestamp per hit and
 * filters the whole list on every request, which at a limit of 60000 a minute costs more than the request.
 * A fixed window admits at most twice the limit across a window boundary; for abuse control that is fine.
 */
@Injectable()
export class FixedWindowThrottlerStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper = setInterval(() => this.sweep(Date.now()), 60_000);

  constructor() {
    this.sweeper.unref();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const id = `${throttlerName}:${key}`;
    let window = this.windows.get(id);
    if (!window || now - window.startedAt >= ttl) {
      window = { startedAt: now, hits: 0 };
      this.windows.set(id, window);
    }
    window.hits += 1;
    const timeToExpire = Math.max(1, Math.ceil((window.startedAt + ttl - now) / 1000));
    const isBlocked = window.hits > limit;
    return {
      totalHits: window.hits,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? timeToExpire : 0,
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private sweep(now: number): void {
    // Windows are at most an hour long (CONSTELLATION_RATE_LIMIT's largest unit).
    for (const [id, window] of this.windows) if (now - window.startedAt > 3_600_000) this.windows.delete(id);
  }
}
