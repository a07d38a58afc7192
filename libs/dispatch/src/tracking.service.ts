import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AdapterError,
  SiteAdapters,
  isAdapterError,
  RemoteStatus,
  SiteAdapter,
} from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { attemptContext } from './attempt-context';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { changeFor, deliveryChange } from './attempt-changes';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchRepository, DispatchTask } from './dispatch.repository';
import { SiteAccess, DispatchSites } from './dispatch-sites';
import { mapConcurrent } from './bounded-workers';
import { failingTooLong, retryDelayMs } from './site-failure-timing';

/** Tasks one claim takes: small enough that one site's batched status call fits well inside a lease. */
const CLAIM = 32;
/** Claims per round. */
const CLAIMS = 16;
/** Claims worked on at once. */
const CONCURRENCY = 4;

/** What one status call said about one task: a status, a loss, or no answer (retry later). */
type Answer = { event: AttemptEvent } | { retry: AdapterError };

/** Follows submitted tasks: one batched status call per site, then each task's decision under its row lock. */
@Injectable()
export class TrackingService {
  private readonly logger = new Logger('dispatch');

  constructor(
    private readonly repo: DispatchRepository,
    private readonly directory: DispatchSites,
    private readonly adapters: SiteAdapters,
    private readonly metrics: DispatchMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async trackSubmitted(replica: string): Promise<number> {
    let tracked = 0;
    let claims = 0;
    let exhausted = false;
    const worker = async () => {
      while (!exhausted && claims < CLAIMS) {
        claims++;
        const tasks = await this.repo.claim('track', replica, new Date(), this.config.leaseSeconds, CLAIM);
        if (tasks.length === 0) {
          exhausted = true;
          return;
        }
        tracked += tasks.length;
        await mapConcurrent(
          [...groupBySite(tasks).entries()],
          1,
          ([siteId, list]) => this.trackSite(replica, siteId, list),
          ([siteId], err) => this.logger.error({ siteId, err }, 'tracking step failed'),
        );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return tracked;
  }

  private async trackSite(replica: string, siteId: string, tasks: DispatchTask[]): Promise<void> {
    const entry = await this.directory.site(siteId);
    const adapter = entry ? this.adapters.for(entry.adapterSite.kind) : undefined;
    if (!entry || !adapter) {
      for (const task of tasks) {
        await this.decide(replica, task, { kind: 'lost', reason: 'the site was removed from the registry' });
      }
      return;
    }
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
        await this.follow(replica, entry, task, answers.get(task.id) as Answer, adapter);
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
  ): Promise<void> {
    if (!('event' in answer)) {
      await this.noAnswer(replica, entry, task, answer.retry, adapter);
      return;
    }
    const ended = await this.decide(replica, task, answer.event);
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
      if (await this.decide(replica, task, { kind: 'site_offline', reason })) {
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
  private async decide(replica: string, task: DispatchTask, event: AttemptEvent): Promise<boolean> {
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
