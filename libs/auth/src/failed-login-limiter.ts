import { BrokerError, ErrorCode } from '@constellation/common';

/** Failed authentications allowed per client address and minute before it must wait. */
export const FAILED_LOGINS_PER_MINUTE = 60;
const WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * Guessing tokens costs a database lookup each; the per-principal rate limit cannot see callers that never
 * authenticate, so failures are counted per client address here (fixed one-minute windows, this replica).
 */
export class FailedLoginLimiter {
  private readonly windows = new Map<string, Window>();

  /** Throws 429 while `client` is over the limit, before any lookup is made for it. */
  check(client: string, now: number): void {
    const w = this.windows.get(client);
    if (!w || now - w.startedAt >= WINDOW_MS || w.failures < FAILED_LOGINS_PER_MINUTE) return;
    const retryAfter = Math.max(1, Math.ceil((w.startedAt + WINDOW_MS - now) / 1000));
    throw new BrokerError(
      ErrorCode.RateLimited,
      `too many failed authentications from this address; retry in ${retryAfter} s`,
      [],
      { 'Retry-After': String(retryAfter) },
    );
  }

  recordFailure(client: string, now: number): void {
    let w = this.windows.get(client);
    if (!w || now - w.startedAt >= WINDOW_MS) {
      if (this.windows.size > 100_000) this.sweep(now);
      w = { startedAt: now, failures: 0 };
      this.windows.set(client, w);
    }
    w.failures += 1;
  }

  private sweep(now: number): void {
    for (const [client, w] of this.windows) if (now - w.startedAt >= WINDOW_MS) this.windows.delete(client);
  }
}
