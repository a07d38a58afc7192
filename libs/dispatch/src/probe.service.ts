import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { DispatchMetrics } from './dispatch.metrics';
import { HealthChange, ProbeOutcome, ProbeTarget, SiteHealthRepository } from '@constellation/registry';
import { HeldLease, leaseOf, probeClaims, workEachClaimed } from './leased-claims';

/** Probes one site (adapterProber in the application; replaced in tests). */
export type SiteProber = (target: ProbeTarget) => Promise<ProbeOutcome>;
export const SITE_PROBER = Symbol('SITE_PROBER');

export interface ProbeRound {
  probed: number;
  changes: HealthChange[];
}

// Enough to keep a few hundred sites current within one interval without opening hundreds of sockets.
const CONCURRENCY = 16;
// At most this many probes per round; the rest wait for the next tick.
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
    @Optional() private readonly metrics?: DispatchMetrics,
  ) {}

  /**
   * Probes the pending, active or draining sites due at `now` with bounded concurrency and records each result,
   * through the claim loop every dispatch step uses: each worker claims one site only when it is free to probe
   * it (leased, so other replicas skip it), so a lease starts when its probe starts and never runs out while
   * the site waits behind others in a long batch. Time is an argument so tests can step it.
   */
  async probeDueSites(now: Date = new Date()): Promise<ProbeRound> {
    const changes: HealthChange[] = [];
    const probed = await workEachClaimed(
      probeClaims(this.health, this.replica, this.config.leaseSeconds, now),
      CONCURRENCY,
      BATCH,
      async (target, lease) => {
        const change = await this.probeOne(target, lease, now);
        if (change) changes.push(change);
      },
      // probeOne reports its own failures; this is the loop's guard for anything it did not foresee.
      (target, err) => this.logger.error({ siteId: target.id, err }, 'probe step failed'),
    );
    return { probed, changes };
  }

  /**
   * Probes one site now if it is due and no replica holds it (an action that made it due asks for this);
   * answers the health change, or null when there was none or the site was not claimed.
   */
  async probeSite(siteId: string, now: Date = new Date()): Promise<HealthChange | null> {
    const claims = probeClaims(this.health, this.replica, this.config.leaseSeconds, now, siteId);
    const target = await claims.claim();
    if (!target) return null;
    return this.probeOne(target, leaseOf(claims, target), now);
  }

  /** Probes one claimed site and records the outcome; a prober that throws counts as a failed probe. */
  private async probeOne(target: ProbeTarget, lease: HeldLease, now: Date): Promise<HealthChange | null> {
    let outcome: ProbeOutcome;
    try {
      outcome = await this.prober(target);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn({ siteId: target.id, site: target.slug, err: message }, 'prober threw');
      outcome = { ok: false, latencyMs: null, error: `probe error: ${message.slice(0, 200)}` };
    }
    if (!outcome.ok) this.metrics?.probeFailures.inc({ site: target.slug });
    const recordedAt = new Date(Math.max(now.getTime(), Date.now()));
    let change: HealthChange | null;
    try {
      change = await this.health.record(
        target.id,
        this.replica,
        outcome,
        recordedAt,
        new Date(now.getTime() + this.intervalSeconds(target) * 1000),
        this.config.probeFailures,
      );
    } catch (err) {
      // Handed back so the site is probed again soon rather than after the lease, if the database lets us;
      // otherwise the lease expires on its own. The other sites of the round still get probed.
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ siteId: target.id, site: target.slug, err: message }, 'could not record a probe');
      await lease.release().catch(() => undefined);
      return null;
    }
    if (change) {
      const log = { siteId: change.siteId, site: change.slug, from: change.from, to: change.to };
      if (change.to === 'offline') this.logger.warn(log, `site ${change.slug} is offline`);
      else this.logger.log(log, `site ${change.slug} is ${change.to}`);
    }
    return change;
  }

  /** Pending sites are probed so their health is known at approval; they need no minute-by-minute view. */
  private intervalSeconds(target: ProbeTarget): number {
    return target.adminState === 'pending'
      ? Math.max(this.config.probeSeconds, this.config.pendingProbeSeconds)
      : this.config.probeSeconds;
  }

  /** Recomputes every site's observed load from the broker's task table (false: another replica is at it). */
  refreshLoad(now: Date = new Date()): Promise<boolean> {
    return this.health.refreshOwnLoad(now);
  }
}
