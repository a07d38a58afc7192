import { Inject, Injectable, Logger } from '@nestjs/common';
import { AdapterError, AdapterRegistry, isAdapterError, RemoteStatus } from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { attemptContext } from './attempt-context';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { transitionFor } from './attempt-transitions';
import { DispatchRepository, DispatchTask } from './dispatch.repository';
import { SiteDirectory } from './site-directory';
import { mapConcurrent, retryDelayMs } from './work-pacing';

const BATCH = 512;
/** Sites asked at once; each adapter bounds its own requests per site. */
const SITE_CONCURRENCY = 4;

/** Follows submitted tasks: one batched status call per site, then each task's decision under its row lock. */
@Injectable()
export class TrackingService {
  private readonly logger = new Logger('dispatch');

  constructor(
    private readonly repo: DispatchRepository,
    private readonly directory: SiteDirectory,
    private readonly adapters: AdapterRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async trackSubmitted(replica: string, now: Date = new Date()): Promise<number> {
    const tasks = await this.repo.claim('track', replica, now, this.config.leaseSeconds, BATCH);
    const bySite = new Map<string, DispatchTask[]>();
    for (const task of tasks) {
      const list = bySite.get(task.siteId as string);
      if (list) list.push(task);
      else bySite.set(task.siteId as string, [task]);
    }
    await mapConcurrent(
      [...bySite.entries()],
      SITE_CONCURRENCY,
      ([siteId, list]) => this.trackSite(replica, siteId, list),
      ([siteId], err) => this.logger.error({ siteId, err }, 'tracking step failed'),
    );
    return tasks.length;
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
    const slug = entry.adapterSite.slug;
    let statuses: Map<string, RemoteStatus | AdapterError>;
    try {
      statuses = await adapter.status(
        entry.adapterSite,
        tasks.map((t) => t.remoteId as string),
      );
    } catch (err) {
      const error = isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300));
      if (entry.health === 'offline') {
        for (const task of tasks) {
          await this.decide(replica, task, {
            kind: 'site_offline',
            reason: `${slug} is offline (${error.message})`,
          });
        }
        return;
      }
      this.logger.warn(
        { site: slug, kind: error.kind, err: error.message },
        'status check failed; will retry',
      );
      const retryAt = new Date(Date.now() + retryDelayMs(this.config));
      for (const task of tasks) await this.repo.release(task.id, replica, retryAt);
      return;
    }
    for (const task of tasks) {
      const result = statuses.get(task.remoteId as string);
      let event: AttemptEvent;
      if (result === undefined) {
        event = { kind: 'lost', reason: `${slug} did not report on ${task.remoteId}` };
      } else if (isAdapterError(result)) {
        event =
          result.kind === 'lost'
            ? { kind: 'lost', reason: `${slug} lost the task: ${result.message}` }
            : { kind: 'refused', reason: `${slug} answered badly about the task: ${result.message}` };
      } else {
        event = { kind: 'status', status: result };
      }
      await this.decide(replica, task, event);
    }
  }

  private async decide(replica: string, task: DispatchTask, event: AttemptEvent): Promise<void> {
    const now = new Date();
    let decided = '';
    await this.repo.withClaim(
      task.id,
      replica,
      (fresh) => {
        // A cancel request arrived while the site was asked: the cancel loop takes it from here.
        if (fresh.state !== 'INITIALIZING' && fresh.state !== 'RUNNING') return { update: {} };
        if (fresh.remoteId !== task.remoteId) return { update: {} };
        const decision = decideAttempt(attemptContext(fresh, this.config), event);
        decided =
          decision.action === 'progress'
            ? ''
            : `${decision.action}: ${'reason' in decision ? decision.reason : ''}`;
        const status = event.kind === 'status' ? event.status : undefined;
        return transitionFor(fresh, decision, status, now, this.config);
      },
      now,
    );
    if (decided) this.logger.log({ taskId: task.id }, `task ${task.id} ${decided}`);
  }
}
