import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { HealthChange, ProbeOutcome, ProbeTarget, SiteHealthRepository } from '@constellation/registry';
import { checkReachability } from './reachability';

/** Probes one site; replaced in tests and, later, by the adapter of the site's kind. */
export type SiteProber = (target: ProbeTarget) => Promise<ProbeOutcome>;
export const SITE_PROBER = Symbol('SITE_PROBER');

export interface ProbeRound {
  probed: number;
  changes: HealthChange[];
}

// Enough to keep a few hundred sites current within one interval without opening hundreds of sockets.
const CONCURRENCY = 16;
const BATCH = 256;

@Injectable()
export class ProbeService {
  private readonly logger = new Logger('probes');
  /** Names this replica's leases; unique per process so a restarted replica never inherits old claims. */
  readonly replica = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly health: SiteHealthRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SITE_PROBER) private readonly prober: SiteProber,
  ) {}

  /**
   * Claims every active or draining site due at `now` (leased, so other replicas skip them), probes them
   * with bounded concurrency and records each result. Time is an argument so tests can step it.
   */
  async probeDueSites(now: Date = new Date()): Promise<ProbeRound> {
    const targets = await this.health.claimDue(this.replica, now, this.config.leaseSeconds, BATCH);
    const changes: HealthChange[] = [];
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++];
        const outcome = await this.prober(target);
        const recordedAt = new Date(Math.max(now.getTime(), Date.now()));
        const change = await this.health.record(
          target.id,
          this.replica,
          outcome,
          recordedAt,
          new Date(now.getTime() + this.config.probeSeconds * 1000),
          this.config.probeFailures,
        );
        if (change) {
          changes.push(change);
          const log = { siteId: change.siteId, site: change.slug, from: change.from, to: change.to };
          if (change.to === 'offline') this.logger.warn(log, `site ${change.slug} is offline`);
          else this.logger.log(log, `site ${change.slug} is ${change.to}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, worker));
    return { probed: targets.length, changes };
  }

  /** Recomputes every site's observed load from the broker's task table. */
  refreshLoad(now: Date = new Date()): Promise<void> {
    return this.health.refreshOwnLoad(now);
  }
}

/** The default prober: reachability with a timeout inside the lease, so a slow site never outlives it. */
export function reachabilityProber(config: AppConfig): SiteProber {
  const timeoutMs = Math.min(10_000, Math.max(1000, (config.leaseSeconds * 1000) / 2));
  return (target) => checkReachability(target, { timeoutMs, amqpUrl: config.amqpUrl });
}
