import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { AdapterError, isAdapterError, RemoteStatus, SiteAdapter } from '@constellation/adapters';
import { attemptContext } from './attempt-context';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { changeFor, deliveryChange } from './attempt-changes';
import { DispatchTask } from './dispatch.repository';
import { SiteAccess } from './dispatch-sites';
import { SiteStep } from './site-step';
import { mapConcurrent } from './bounded-workers';
import { failingTooLong, retryDelayMs } from './site-failure-timing';
import { nextPace } from './track-pacing';
import { RequestBudget } from './request-budget';
import { PushOutcome, PushQueue } from './push-queue';

/** Tasks one claim takes. */
const CLAIM = 100;
/**
 * Claims per pass: every due task of a site is asked about in one status call (one paged list on TES), so a
 * pass takes all that is due, up to this bound.
 */
const CLAIMS = 20;
/** Sites asked at once: a site that times out holds up only its own tasks. */
const SITE_CONCURRENCY = 8;
/** Pushed updates applied at once. */
const PUSH_CONCURRENCY = 4;
/** First pause before a pushed update whose task is leased is tried again (then doubled). */
const PUSH_RETRY_MS = 200;

/** How a task's next check is paced: its site's status mode, and the earliest its site's budget allows. */
interface Pacing {
  mode: SiteAdapter['statusMode'];
  notBefore?: Date;
}

/** What one status call said about one task: a status, a loss, or no answer (retry later). */
type Answer = { event: AttemptEvent } | { retry: AdapterError };

/**
 * Follows submitted tasks: claims what is due, one status call per site (paced by each site's request budget
 * where the site is asked per task), then each task's decision under its row lock. News a site pushes is
 * applied at once, under the same claim.
 */
@Injectable()
export class TrackingService extends SiteStep {
  private readonly budget = new RequestBudget(this.config.siteRequestsPerSecond);
  private pass: Promise<number> | null = null;
  private pushes: PushQueue | null = null;

  /** One pass over the due tasks; a pass under way is joined, so the round and the wake-ups never double it. */
  trackSubmitted(replica: string): Promise<number> {
    this.pass ??= this.trackDue(replica).finally(() => {
      this.pass = null;
    });
    return this.pass;
  }

  /** Resolves when the pass under way, if any, has written its results. */
  async settled(): Promise<void> {
    await this.pass?.catch(() => undefined);
  }

  /** When the next task falls due for a check; null when none is tracked. */
  nextDue(): Promise<Date | null> {
    return this.repo.nextTrackDue();
  }

  /** Applies status updates sites push (Pulsar AMQP) as they arrive, under this replica's claims. */
  listenForPushes(replica: string): () => void {
    const queue = new PushQueue(
      (ref) => this.trackPushed(replica, ref),
      {
        retryMs: PUSH_RETRY_MS,
        // 0.2 s, 0.4, 0.8 ... until a lease has surely run out: a holder that died hands the task on then.
        maxTries: Math.ceil(Math.log2((this.config.leaseSeconds * 1000) / PUSH_RETRY_MS + 1)) + 1,
        concurrency: PUSH_CONCURRENCY,
        maxPending: 100_000,
        unmatchedMs: 60_000,
      },
      (ref, err) => this.logger.error({ ref, err }, 'applying a pushed status failed'),
    );
    this.pushes = queue;
    const stops = this.adapters
      .kinds()
      .map((kind) => this.adapters.for(kind)?.onStatusPushed?.((ref) => queue.add(ref)));
    return () => {
      for (const stop of stops) stop?.();
      queue.close();
      if (this.pushes === queue) this.pushes = null;
    };
  }

  /** A submission recorded `ref`: an update the site pushed before that is applied now. */
  recorded(ref: string): void {
    this.pushes?.recorded(ref);
  }

  /** Claims the task a pushed update is about, at once, and applies what its site now says. */
  async trackPushed(replica: string, ref: string): Promise<PushOutcome> {
    const claimed = await this.repo.claimPushed(ref, replica, this.config.leaseSeconds);
    if (typeof claimed === 'string') return claimed;
    for (const [siteId, list] of groupBySite(claimed)) await this.trackSite(replica, siteId, list);
    return 'applied';
  }

  private async trackDue(replica: string): Promise<number> {
    const tasks: DispatchTask[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const claimed = await this.repo.claim('track', replica, new Date(), this.config.leaseSeconds, CLAIM);
      tasks.push(...claimed);
      if (claimed.length < CLAIM) break;
    }
    await mapConcurrent(
      [...groupBySite(tasks).entries()],
      SITE_CONCURRENCY,
      ([siteId, list]) => this.trackSite(replica, siteId, list),
      ([siteId], err) => this.logger.error({ siteId, err }, 'tracking step failed'),
    );
    return tasks.length;
  }

  /**
   * A site asked once per task gets at most its request budget; the rest wait for a turn, one budget
   * interval apart. While turns are handed out, the tasks asked now take the next ones too, so every task
   * gets its turn (round robin) however short the back-off.
   */
  private async withinBudget(
    replica: string,
    siteId: string,
    tasks: DispatchTask[],
  ): Promise<{ asked: DispatchTask[]; notBefore: Map<string, Date> }> {
    const granted = this.budget.take(siteId, tasks.length);
    const notBefore = new Map<string, Date>();
    const asked = tasks.slice(0, granted);
    await this.repo.defer(
      replica,
      tasks.slice(granted).map((task) => ({ id: task.id, at: new Date(this.budget.nextTurn(siteId)) })),
    );
    if (this.budget.queueing(siteId)) {
      for (const task of asked) notBefore.set(task.id, new Date(this.budget.nextTurn(siteId)));
    }
    return { asked, notBefore };
  }

  private async trackSite(replica: string, siteId: string, claimed: DispatchTask[]): Promise<void> {
    const { entry, adapter } = await this.reach(siteId);
    if (!entry || !adapter) {
      for (const task of claimed) {
        await this.decide(
          replica,
          task,
          { kind: 'lost', reason: 'the site was removed from the registry' },
          { mode: 'per-task' },
        );
      }
      return;
    }
    const { asked: tasks, notBefore } =
      adapter.statusMode === 'per-task'
        ? await this.withinBudget(replica, siteId, claimed)
        : { asked: claimed, notBefore: new Map<string, Date>() };
    if (tasks.length === 0) return;
    const answers = new Map<string, Answer>();
    try {
      const statuses = await adapter.status(
        entry.adapterSite,
        tasks.map((t) => t.remoteId as string),
      );
      for (const task of tasks) answers.set(task.id, this.answerFor(entry, task, statuses));
    } catch (err) {
      const error = isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300));
      for (const task of tasks) answers.set(task.id, { retry: error });
      this.logger.warn(
        { site: entry.adapterSite.slug, kind: error.kind, err: error.message },
        'status check failed',
      );
    }
    for (const task of tasks) {
      try {
        const pacing = { mode: adapter.statusMode, notBefore: notBefore.get(task.id) };
        await this.follow(replica, entry, task, answers.get(task.id) as Answer, adapter, pacing);
      } catch (err) {
        // One task's failure (a stored value of the wrong type, a lost database connection) must not leave
        // its site-mates in this claim unfollowed until their lease runs out; it is tried again next round.
        this.logger.error({ taskId: task.id, err }, 'tracking one task failed');
      }
    }
  }

  /** Acts on what the site said about one task. */
  private async follow(
    replica: string,
    entry: SiteAccess,
    task: DispatchTask,
    answer: Answer,
    adapter: SiteAdapter,
    pacing: Pacing,
  ): Promise<void> {
    if (!('event' in answer)) {
      await this.noAnswer(replica, entry, task, answer.retry, adapter);
      return;
    }
    const ended = await this.decide(replica, task, answer.event, pacing);
    // The attempt is over at the site (finished, failed or lost): free what the site keeps for it, such as
    // a Pulsar job directory. Best effort: a site that keeps it anyway costs it disk, not us correctness.
    if (ended) {
      await adapter.cleanup(entry.adapterSite, task.remoteId as string).catch((err: unknown) => {
        this.logger.warn(
          { taskId: task.id, site: entry.adapterSite.slug, err: String(err).slice(0, 200) },
          'cleanup failed',
        );
      });
    }
  }

  private answerFor(
    entry: SiteAccess,
    task: DispatchTask,
    statuses: Map<string, RemoteStatus | AdapterError>,
  ): Answer {
    const slug = entry.adapterSite.slug;
    const result = statuses.get(task.remoteId as string);
    if (result === undefined)
      return { retry: new AdapterError('protocol_error', `${slug} did not report on the task`) };
    if (!isAdapterError(result)) return { event: { kind: 'status', status: result } };
    if (result.kind === 'lost')
      return { event: { kind: 'lost', reason: `${slug} lost the task: ${result.message}` } };
    // One bad answer about one task is not a verdict on it: ask again, within the same bound as a dead site.
    return { retry: result };
  }

  /** The site said nothing usable about the task: wait for it, unless it is offline or has failed too long. */
  private async noAnswer(
    replica: string,
    entry: SiteAccess,
    task: DispatchTask,
    error: AdapterError,
    adapter: SiteAdapter,
  ): Promise<void> {
    const now = new Date();
    const slug = entry.adapterSite.slug;
    let reason: string | undefined;
    if (entry.health === 'offline') reason = `${slug} is offline (${error.message})`;
    else if (failingTooLong(task.failingSince, now, this.config)) {
      reason = `${slug} has not answered about the task for too long (${error.message})`;
    }
    if (reason !== undefined) {
      if (await this.decide(replica, task, { kind: 'site_offline', reason }, { mode: adapter.statusMode })) {
        // Frees what the broker keeps for the attempt (a Pulsar AMQP spool); the site itself may not answer.
        await adapter.cleanup(entry.adapterSite, task.remoteId as string).catch(() => undefined);
      }
      return;
    }
    await this.repo.releaseFailing(
      task.id,
      replica,
      new Date(now.getTime() + retryDelayMs(this.config)),
      now,
    );
  }

  /** Applies the decision; true when the attempt ended (finished, or moved elsewhere). */
  private async decide(
    replica: string,
    task: DispatchTask,
    event: AttemptEvent,
    pacing: Pacing,
  ): Promise<boolean> {
    const now = new Date();
    let decided = '';
    await this.repo.withClaim(
      task.id,
      replica,
      (fresh) => {
        // A cancel request arrived while the site was asked: the cancel step takes it from here, now.
        if (fresh.state !== 'INITIALIZING' && fresh.state !== 'RUNNING')
          return { update: { nextCheckAt: now } };
        if (fresh.remoteId !== task.remoteId) return { update: { nextCheckAt: now } };
        // Status checks only read: outputs the broker must move are the delivery step's (delivery.service.ts).
        if (event.kind === 'status' && event.status.state === 'COMPLETE' && event.status.awaitingDelivery)
          return deliveryChange(fresh, event.status, now);
        const decision = decideAttempt(attemptContext(fresh, this.config), event);
        this.metrics.decided(decision);
        const status = event.kind === 'status' ? event.status : undefined;
        const transition = changeFor(fresh, decision, status, now, this.config);
        if (decision.action === 'progress') {
          // The back-off starts again when the site's state of the task moved (QUEUED to RUNNING, say).
          const moved =
            transition.event !== undefined || (status !== undefined && status.state !== fresh.remoteState);
          const pace = nextPace(pacing.mode, fresh.trackIntervalMs, moved, now, this.config);
          if (pacing.notBefore !== undefined && pacing.notBefore > pace.nextCheckAt) {
            pace.nextCheckAt = pacing.notBefore;
          }
          transition.update = {
            ...transition.update,
            ...pace,
            remoteState: status?.state ?? fresh.remoteState,
          };
        }
        if (decision.action !== 'progress') {
          decided = `${decision.action}: ${decision.reason}`;
          // The site did not say the copy ended: it may still run there, and must be stopped when it answers.
          if (event.kind === 'site_offline' && fresh.siteId !== null) {
            return {
              ...transition,
              abandon: {
                siteId: fresh.siteId,
                attempt: fresh.attempt,
                remoteId: fresh.remoteId,
                reason: decision.reason,
              },
            };
          }
          return transition;
        }
        // Most checks find nothing new: then only the next check moves, and clients see no new version.
        const unchanged =
          transition.event === undefined &&
          fresh.failingSince === null &&
          // Key order differs between what the site sent and what jsonb gives back; the content does not.
          isDeepStrictEqual(transition.update.logs ?? fresh.logs, fresh.logs);
        return unchanged ? { ...transition, quiet: true } : transition;
      },
      now,
    );
    if (decided) this.logger.log({ taskId: task.id }, `task ${task.id} ${decided}`);
    return decided !== '';
  }
}

function groupBySite(tasks: DispatchTask[]): Map<string, DispatchTask[]> {
  const bySite = new Map<string, DispatchTask[]>();
  for (const task of tasks) {
    const list = bySite.get(task.siteId as string);
    if (list) list.push(task);
    else bySite.set(task.siteId as string, [task]);
  }
  return bySite;
}
