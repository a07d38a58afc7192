import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { AbandonedCopiesService } from './abandoned-copies.service';
import { CancellationService } from './cancellation.service';
import { DeliveryService } from './delivery.service';
import { DispatchMetrics } from './dispatch.metrics';
import { PlacementService } from './placement.service';
import { SubmissionService } from './submission.service';
import { TrackingService } from './tracking.service';

const INTERVAL_NAME = 'dispatch';
/** Longest pause between rounds while every step keeps failing. */
const MAX_BACKOFF_MS = 30_000;
/**
 * Bounds on tracking's sleep between passes: it wakes when the next check falls due, at least this long after
 * the last pass (never a busy loop on the database) and at most this long (checks other replicas made due).
 */
const TRACK_SLEEP_MIN_MS = 50;
const TRACK_SLEEP_MAX_MS = 1000;

export interface DispatchRound {
  placed: number;
  failed: number;
  submitted: number;
  tracked: number;
  /** Output deliveries started (they run on after the round). */
  deliveries: number;
  canceled: number;
  /** Abandoned copies visited (stopped, found ended, or looked at again later). */
  copies: number;
}

/**
 * Drives the dispatch steps: place what is queued then submit what is placed, follow what is submitted, and
 * stop what was cancelled. Every replica runs it; leases and the placement lock share the work out.
 */
@Injectable()
export class DispatchLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('dispatch');
  /** Names this replica's leases; unique per process so a restarted replica never inherits old claims. */
  readonly replica = `${hostname()}:${process.pid}:dispatch:${randomBytes(3).toString('hex')}`;
  private running: Promise<DispatchRound> | null = null;
  private stopped = false;
  /** Rounds in a row in which every step failed, and when the timer may start the next one. */
  private failedRounds = 0;
  private resumeAt = 0;
  private trackTimer: NodeJS.Timeout | null = null;
  private stopPushes: (() => void) | null = null;

  constructor(
    private readonly placement: PlacementService,
    private readonly submission: SubmissionService,
    private readonly tracking: TrackingService,
    private readonly delivery: DeliveryService,
    private readonly cancellation: CancellationService,
    private readonly abandoned: AbandonedCopiesService,
    private readonly registry: SchedulerRegistry,
    private readonly metrics: DispatchMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.dispatchSeconds === 0) return;
    const handle = setInterval(() => {
      if (this.due()) void this.tick();
    }, this.config.dispatchSeconds * 1000);
    this.registry.addInterval(INTERVAL_NAME, handle);
    // Between rounds too: checks are due every half second at first, and pushed news is applied at once.
    this.stopPushes = this.tracking.listenForPushes(this.replica);
    this.wakeTrackingIn(TRACK_SLEEP_MIN_MS);
  }

  private wakeTrackingIn(ms: number): void {
    if (this.stopped) return;
    this.trackTimer = setTimeout(() => void this.trackBetweenRounds(), ms);
  }

  /** A tracking pass (joined with the round's when one runs), then sleep until the next check is due. */
  private async trackBetweenRounds(): Promise<void> {
    let sleep = TRACK_SLEEP_MAX_MS;
    try {
      if (this.due()) await this.tracking.trackSubmitted(this.replica);
      const next = await this.tracking.nextDue();
      if (next !== null) sleep = next.getTime() - Date.now();
    } catch (err) {
      // The round's tracking step reports the same failure, and backs off.
      this.logger.debug({ err }, 'tracking between rounds failed');
    }
    this.wakeTrackingIn(Math.min(TRACK_SLEEP_MAX_MS, Math.max(TRACK_SLEEP_MIN_MS, sleep)));
  }

  /** Before any module shuts down (adapters close their connections then), so a round in flight can finish. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.registry.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
    if (this.trackTimer !== null) clearTimeout(this.trackTimer);
    this.stopPushes?.();
    await this.tracking.settled();
    // Let a round in flight write its results; anything it had not claimed stays for the other replicas.
    await this.running?.catch(() => undefined);
    // Deliveries may run for hours: stop them and hand their tasks back rather than wait.
    await this.delivery.stop();
  }

  /**
   * False while rounds back off: when every step of the last rounds failed (the database is down, say), the
   * timer waits 2, 4, 8... up to 30 seconds rather than log the same errors every second.
   */
  due(now: number = Date.now()): boolean {
    return now >= this.resumeAt;
  }

  /** One round; a round still running is joined rather than doubled, so slow sites never pile rounds up. */
  tick(): Promise<DispatchRound> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<DispatchRound> {
    const out: DispatchRound = {
      placed: 0,
      failed: 0,
      submitted: 0,
      tracked: 0,
      deliveries: 0,
      canceled: 0,
      copies: 0,
    };
    if (this.stopped) return out;
    // Three lanes side by side (the last also stops copies tasks left behind at sites), so a site that times out on submissions does not hold up following and
    // cancelling tasks elsewhere; within the first lane a task placed now is submitted in the same round.
    const ok = await Promise.all([
      this.step('placement', async () => {
        const r = await this.placement.placeQueued();
        out.placed = r.placed;
        out.failed = r.failed;
      }).then(() =>
        this.step('submission', async () => {
          out.submitted = await this.submission.submitPlaced(this.replica);
        }),
      ),
      this.step('tracking', async () => {
        out.tracked = await this.tracking.trackSubmitted(this.replica);
      }).then(() =>
        // A job tracking just found complete has its delivery started in the same round.
        this.step('delivery', async () => {
          out.deliveries = await this.delivery.startDue(this.replica);
        }),
      ),
      this.step('cancellation', async () => {
        out.canceled = await this.cancellation.cancelRequested(this.replica);
      }).then(() =>
        this.step('abandoned_copies', async () => {
          out.copies = await this.abandoned.stopAbandoned(this.replica);
        }),
      ),
    ]);
    if (ok.every((stepOk) => !stepOk)) {
      this.failedRounds++;
      this.resumeAt = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failedRounds, 10));
    } else {
      this.failedRounds = 0;
      this.resumeAt = 0;
    }
    return out;
  }

  /** Runs one step, timed; its failure is logged and never stops the others. False when it failed. */
  private async step(name: string, run: () => Promise<void>): Promise<boolean> {
    const stop = this.metrics.roundSeconds.startTimer({ step: name });
    try {
      await run();
      return true;
    } catch (err) {
      this.logger.error({ err }, `dispatch ${name} step failed`);
      return false;
    } finally {
      stop();
    }
  }
}
