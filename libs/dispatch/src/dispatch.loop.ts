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
import { DispatchNews } from './dispatch-news';
import { DispatchMetrics } from './dispatch.metrics';
import { PlacementService } from './placement.service';
import { SubmissionService } from './submission.service';
import { TakeBackService } from './take-back.service';
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
/** How long a wake-up waits for more news, so a burst of creates becomes one placement pass. */
const WAKE_DEBOUNCE_MS = 5;
/** When another replica held the placement lock, look again this soon: it may have read the queue too early. */
const PLACEMENT_LOCKED_RETRY_MS = 100;

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
  /** Tasks taken back from a site queue, back to placement. */
  takenBack: number;
}

/** The steps that run one after the other; lanes run side by side, each at its own pace. */
type Lane = 'place' | 'submit' | 'track' | 'cancel_copies';
const LANES: readonly Lane[] = ['place', 'submit', 'track', 'cancel_copies'];

/** What one run of a lane did, whether each of its steps succeeded, and when to run it again unasked. */
interface LaneRun {
  done: Partial<DispatchRound>;
  ok: boolean[];
  /** Work is left (or may be): run again after this many ms rather than wait for news or the round. */
  againInMs?: number;
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
  /** Each lane's run in flight, if any. */
  private readonly inFlight = new Map<Lane, Promise<LaneRun>>();
  private stopped = false;
  /** Rounds in a row in which every step failed, and when the timer may start the next one. */
  private failedRounds = 0;
  private resumeAt = 0;
  /** The tracking pass's timer while it sleeps (null while a pass runs), and when it fires. */
  private trackTimer: NodeJS.Timeout | null = null;
  private trackTimerAt = 0;
  private stopPushes: (() => void) | null = null;
  private stopNews: (() => void) | null = null;
  /** Wake-ups waiting out their debounce, and lanes asked for while running (they run once more after). */
  private readonly wakeTimers = new Map<Lane, NodeJS.Timeout>();
  private readonly wantedAgain = new Set<Lane>();

  constructor(
    private readonly placement: PlacementService,
    private readonly submission: SubmissionService,
    private readonly tracking: TrackingService,
    private readonly delivery: DeliveryService,
    private readonly cancellation: CancellationService,
    private readonly abandoned: AbandonedCopiesService,
    private readonly takeBack: TakeBackService,
    private readonly registry: SchedulerRegistry,
    private readonly metrics: DispatchMetrics,
    private readonly news: DispatchNews,
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
    this.stopNews = this.news.onSubmitted((firstCheckAt) => this.trackBy(firstCheckAt.getTime()));
    this.wakeTrackingIn(TRACK_SLEEP_MIN_MS);
  }

  /**
   * A task was accepted here: place it now (after a few ms, so a burst is one pass) rather than at the next
   * round. Other replicas place it at their own round, or sooner when they run a pass for their own news.
   */
  taskArrived(): void {
    this.wake('place', WAKE_DEBOUNCE_MS);
  }

  /** Runs a lane soon; one running now runs once more when it ends, for it may have read too early. */
  private wake(lane: Lane, delayMs: number): void {
    // Rounds off (CONSTELLATION_DISPATCH_SECONDS=0): whoever calls tick() drives every lane.
    if (this.stopped || this.config.dispatchSeconds === 0) return;
    if (this.inFlight.has(lane)) {
      this.wantedAgain.add(lane);
      return;
    }
    if (this.wakeTimers.has(lane)) return;
    const timer = setTimeout(() => {
      this.wakeTimers.delete(lane);
      // A round started the lane meanwhile, perhaps before the news: it runs once more when it ends.
      if (this.inFlight.has(lane)) this.wantedAgain.add(lane);
      // While rounds back off (the database is down), news waits for them too.
      else if (this.due()) void this.lane(lane);
    }, delayMs);
    this.wakeTimers.set(lane, timer);
  }

  private wakeTrackingIn(ms: number): void {
    if (this.stopped) return;
    this.trackTimerAt = Date.now() + ms;
    this.trackTimer = setTimeout(() => void this.trackBetweenRounds(), ms);
  }

  /** A check falls due at `at`: a tracking loop asleep past then wakes in time (a running pass reads it anyway). */
  private trackBy(at: number): void {
    if (this.trackTimer === null || this.trackTimerAt <= at) return;
    clearTimeout(this.trackTimer);
    this.wakeTrackingIn(Math.max(0, at - Date.now()));
  }

  /** A tracking pass (joined with the round's when one runs), then sleep until the next check is due. */
  private async trackBetweenRounds(): Promise<void> {
    this.trackTimer = null;
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
    for (const timer of this.wakeTimers.values()) clearTimeout(timer);
    this.stopNews?.();
    this.stopPushes?.();
    await this.tracking.settled();
    // Let the lanes in flight write their results; anything they had not claimed stays for the other replicas.
    await Promise.all([...this.inFlight.values()].map((run) => run.catch(() => undefined)));
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

  /**
   * One round: every lane that is idle starts, and a lane still running is joined rather than doubled, so
   * slow sites never pile runs up. Lanes do not wait for each other between rounds: a tracking lane that
   * takes several seconds over many running tasks does not hold placement and submission back to its pace.
   */
  async tick(): Promise<DispatchRound> {
    const runs = await Promise.all(LANES.map((lane) => this.lane(lane)));
    const out: DispatchRound = {
      placed: 0,
      failed: 0,
      submitted: 0,
      tracked: 0,
      deliveries: 0,
      canceled: 0,
      copies: 0,
      takenBack: 0,
    };
    for (const run of runs) Object.assign(out, run.done);
    if (runs.every((run) => run.ok.every((stepOk) => !stepOk))) {
      this.failedRounds++;
      this.resumeAt = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failedRounds, 10));
    } else {
      this.failedRounds = 0;
      this.resumeAt = 0;
    }
    return out;
  }

  private lane(lane: Lane): Promise<LaneRun> {
    const running = this.inFlight.get(lane);
    if (running) return running;
    const run = this.runLane(lane).finally(() => this.inFlight.delete(lane));
    this.inFlight.set(lane, run);
    void run.then((done) => {
      if (this.wantedAgain.delete(lane)) this.wake(lane, 0);
      else if (done.againInMs !== undefined) this.wake(lane, done.againInMs);
    });
    return run;
  }

  private async runLane(lane: Lane): Promise<LaneRun> {
    const done: Partial<DispatchRound> = {};
    if (this.stopped) return { done, ok: [] };
    switch (lane) {
      // Placement wakes submission for what it placed, and both go on while work is left: no fixed batch
      // bounds what a round moves, and placing the next tasks overlaps sending the last ones.
      case 'place': {
        let againInMs: number | undefined;
        const placed = await this.step('placement', async () => {
          const r = await this.placement.placeQueued();
          done.placed = r.placed;
          done.failed = r.failed;
          if (r.placed > 0) this.wake('submit', 0);
          if (r.more) againInMs = 0;
          else if (!r.ran) againInMs = PLACEMENT_LOCKED_RETRY_MS;
        });
        return { done, ok: [placed], againInMs };
      }
      case 'submit': {
        const submitted = await this.step('submission', async () => {
          done.submitted = await this.submission.submitPlaced(this.replica);
        });
        // Until a run finds nothing due: tasks placed meanwhile, or more than one run takes.
        return { done, ok: [submitted], againInMs: (done.submitted ?? 0) > 0 ? 0 : undefined };
      }
      case 'track': {
        const tracked = await this.step('tracking', async () => {
          done.tracked = await this.tracking.trackSubmitted(this.replica);
        });
        // A job tracking just found complete has its delivery started in the same run.
        const delivering = await this.step('delivery', async () => {
          done.deliveries = await this.delivery.startDue(this.replica);
        });
        return { done, ok: [tracked, delivering] };
      }
      case 'cancel_copies': {
        // The last lane also stops copies tasks left behind at sites, and takes back tasks stuck in a queue.
        const canceled = await this.step('cancellation', async () => {
          done.canceled = await this.cancellation.cancelRequested(this.replica);
        });
        const copies = await this.step('abandoned_copies', async () => {
          done.copies = await this.abandoned.stopAbandoned(this.replica);
        });
        // And takes back tasks stuck in a site queue; what it moved is placed at once.
        const takenBack = await this.step('take_back', async () => {
          done.takenBack = await this.takeBack.takeBackOverdue(this.replica);
          if (done.takenBack > 0) this.wake('place', 0);
        });
        return { done, ok: [canceled, copies, takenBack] };
      }
    }
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
