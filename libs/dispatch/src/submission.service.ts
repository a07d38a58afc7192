import { Inject, Injectable, Logger } from '@nestjs/common';
import { AdapterError, AdapterRegistry, isAdapterError, SiteAdapter } from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { attemptContext } from './attempt-context';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { withAttemptLog } from './attempt-log';
import { transitionFor } from './attempt-transitions';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchRepository, DispatchTask } from './dispatch.repository';
import { SiteAccess, SiteDirectory } from './site-directory';
import { claimEach, failingTooLong, retryDelayMs } from './work-pacing';

const BATCH = 64;
const CONCURRENCY = 8;

type Outcome = { ref: string } | { error: AdapterError };

/** Sends placed tasks to their sites: each worker claims one task just before sending it; idempotent on the wire. */
@Injectable()
export class SubmissionService {
  private readonly logger = new Logger('dispatch');

  constructor(
    private readonly repo: DispatchRepository,
    private readonly directory: SiteDirectory,
    private readonly adapters: AdapterRegistry,
    private readonly metrics: DispatchMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  submitPlaced(replica: string): Promise<number> {
    return claimEach(
      async () => (await this.repo.claim('submit', replica, new Date(), this.config.leaseSeconds, 1))[0],
      CONCURRENCY,
      BATCH,
      (task) => this.submitOne(replica, task),
      (task, err) => this.logger.error({ taskId: task.id, err }, 'submission step failed'),
    );
  }

  private async submitOne(replica: string, task: DispatchTask): Promise<void> {
    const entry = await this.directory.site(task.siteId as string);
    const adapter = entry ? this.adapters.for(entry.adapterSite.kind) : undefined;
    const slug = entry?.adapterSite.slug ?? task.siteId;
    if (!entry || !adapter || (entry.adminState !== 'active' && entry.adminState !== 'draining')) {
      // Placed a moment before the site was disabled or removed: placement chooses again.
      const state = entry ? `is ${entry.adminState}` : 'was removed';
      return this.fail(replica, task, { kind: 'refused', reason: `${slug} ${state}; not submitted there` });
    }
    const outcome = await this.send(adapter, entry, task);
    const now = new Date();
    if ('ref' in outcome) return this.record(replica, task, adapter, entry, outcome.ref, now);

    const { error } = outcome;
    const transient = error.kind === 'unreachable' || error.kind === 'auth_failed';
    if (entry.health === 'offline' || (transient && failingTooLong(task.failingSince, now, this.config))) {
      const why = entry.health === 'offline' ? 'is offline' : 'has not taken the task for too long';
      return this.fail(replica, task, { kind: 'site_offline', reason: `${slug} ${why}: ${error.message}` });
    }
    if (transient) {
      // Not the task's fault: a site that is down or refuses our credentials costs it no attempt.
      this.logger.warn(
        { taskId: task.id, site: slug, kind: error.kind, err: error.message },
        'submission will be retried',
      );
      this.metrics.submissions.inc({ outcome: 'retried' });
      await this.repo.releaseFailing(
        task.id,
        replica,
        new Date(now.getTime() + retryDelayMs(this.config)),
        now,
      );
      return;
    }
    return this.fail(replica, task, {
      kind: 'refused',
      reason: `${slug} did not take the task: ${error.message}`,
    });
  }

  private async send(adapter: SiteAdapter, entry: SiteAccess, task: DispatchTask): Promise<Outcome> {
    try {
      return {
        ref: await adapter.submit(entry.adapterSite, {
          taskId: task.id,
          attempt: task.attempt,
          tes: task.document,
        }),
      };
    } catch (err) {
      return {
        error: isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300)),
      };
    }
  }

  private async record(
    replica: string,
    task: DispatchTask,
    adapter: SiteAdapter,
    entry: SiteAccess,
    ref: string,
    now: Date,
  ): Promise<void> {
    const slug = entry.adapterSite.slug;
    const held = await this.repo.withClaim(
      task.id,
      replica,
      (fresh) => ({
        // A cancel that arrived meanwhile left the task CANCELING: the cancel step now has a ref to stop.
        update: {
          remoteId: ref,
          logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => ({
            ...l,
            metadata: { ...l.metadata, remote_id: ref },
          })),
          nextCheckAt:
            fresh.state === 'CANCELING' ? now : new Date(now.getTime() + this.config.trackSeconds * 1000),
          failingSince: null,
        },
      }),
      now,
    );
    if (held) {
      this.metrics.submissions.inc({ outcome: 'submitted' });
      this.logger.log({ taskId: task.id, site: slug, remoteId: ref }, `task submitted to ${slug}`);
      return;
    }
    // The lease ran out while the site answered and another replica took over: unless it adopted this very
    // copy (its own submission finds it by tags), stop it, so one attempt never runs twice.
    const current = await this.repo.find(task.id);
    if (current?.remoteId === ref) return;
    // Still this attempt, placed here: the replica now holding it finds this very job by its tags (or the
    // cancel step does), so stopping it would only kill the copy it is about to adopt.
    if (
      current &&
      current.attempt === task.attempt &&
      current.siteId === task.siteId &&
      (current.state === 'INITIALIZING' || current.state === 'CANCELING')
    ) {
      return;
    }
    this.logger.warn(
      { taskId: task.id, site: slug, remoteId: ref },
      'lost the claim while submitting; stopping this copy',
    );
    await adapter.cancel(entry.adapterSite, ref).catch(() => undefined);
  }

  private async fail(replica: string, task: DispatchTask, event: AttemptEvent): Promise<void> {
    const now = new Date();
    this.metrics.submissions.inc({ outcome: 'refused' });
    await this.repo.withClaim(
      task.id,
      replica,
      (fresh) => {
        // Cancelled meanwhile: nothing reached the site, the cancel step ends it.
        if (fresh.state !== 'INITIALIZING') return { update: { nextCheckAt: now } };
        const decision = decideAttempt(attemptContext(fresh, this.config), event);
        this.metrics.decided(decision);
        return transitionFor(fresh, decision, undefined, now, this.config);
      },
      now,
    );
    this.logger.warn(
      { taskId: task.id, site: task.siteId },
      'reason' in event ? event.reason : 'submission failed',
    );
  }
}
