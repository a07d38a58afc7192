import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { PRINCIPAL_REQUEST_KEY, AuthenticatedPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode } from '@constellation/common';

/**
 * Rate limit per principal across all routes (the stock guard counts per route and per IP). It runs after
 * the auth guard (registered later), so an authenticated request is counted against its principal; public
 * routes (health, metrics, service-info) fall back to the client IP. Counters live in this replica's memory,
 * so N replicas admit up to N times the limit; the default (60000/minute) is above what a Galaxy polling
 * thousands of jobs about once a second sends, so the slack only matters for abuse.
 */
@Injectable()
export class PrincipalThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = req[PRINCIPAL_REQUEST_KEY] as AuthenticatedPrincipal | undefined;
    return principal ? `principal:${principal.id}` : `ip:${await super.getTracker(req)}`;
  }

  // One counter per principal across routes; the key stays in this replica's memory, so it needs no hashing.
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new BrokerError(
      ErrorCode.RateLimited,
      `rate limit of ${detail.limit} requests per ${detail.ttl / 1000} s exceeded; retry in ${retryAfter} s`,
      [],
      { 'Retry-After': String(retryAfter) },
    );
  }
}
