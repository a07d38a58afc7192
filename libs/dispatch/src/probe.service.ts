import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { DispatchMetrics } from './dispatch.metrics';
import { HealthChange, ProbeOutcome, ProbeTarget, SiteHealthRepository } from '@constellation/registry';

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
   * Probes the pending, active or draining sites due at `now` with bounded concurrency and records each result. Each
   * worker claims one site only when it is free to probe it (leased, so other replicas skip it), so a lease
   * starts when its probe starts and never runs out while the site waits behind others in a long batch.
   * Time is an argument so tests can step it.
   */
  async probeDueSites(now: Date = new Date()): Promise<ProbeRound> {
    const changes: HealthChange[] = [];
    // Sites probed in this round: with a zero probe interval one would be due again at once.
    const seen: string[] = [];
    let claimed = 0;
    let exhausted = false;
    const worker = async () => {
      while (!exhausted && claimed < BATCH) {
        claimed++;
        // The lease runs from when the claim is made, not from when the round began.
        const claimAt = new Date(Math.max(now.getTime(), Date.now()));
        const [target] = await this.health.claimDue(this.replica, claimAt, this.config.leaseSeconds, 1, seen);
        if (!target) {
          claimed--;
          exhausted = true;
          return;
        }
        seen.push(target.id);
        const change = await this.probeOne(target, now);
        if (change) changes.push(change);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return { probed: seen.length, changes };
  }

  /**
   * Probes one site now if it is due and no replica holds it (an action that made it due asks for this);
   * answers the health change, or null when there was none or the site was not claimed.
   */
  async probeSite(siteId: string, now: Date = new Date()): Promise<HealthChange | null> {
    const [target] = await this.health.claimDue(this.replica, now, this.config.leaseSeconds, 1, [], siteId);
    return target ? this.probeOne(target, now) : null;
  }

  /** Probes one claimed site and records the outcome; a prober that throws counts as a failed probe. */
  private async probeOne(target: ProbeTarget, now: Date): Promise<HealthChange | null> {
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
      // The lease expires on its own; the other sites of the round still get probed.
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ siteId: target.id, site: target.slug, err: message }, 'could not record a probe');
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
