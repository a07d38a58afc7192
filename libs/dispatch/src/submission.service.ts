import { Inject, Injectable, Logger } from '@nestjs/common';
import { AdapterError, AdapterRegistry, isAdapterError } from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { attemptContext } from './attempt-context';
import { decideAttempt } from './attempt-outcome';
import { withAttemptLog } from './attempt-log';
import { transitionFor } from './attempt-transitions';
import { DispatchRepository, DispatchTask } from './dispatch.repository';
import { SiteDirectory } from './site-directory';
import { mapConcurrent, retryDelayMs } from './work-pacing';

const BATCH = 64;
const CONCURRENCY = 8;

/** Sends placed tasks to their sites: one claimed task at a time per worker, idempotent on the wire. */
@Injectable()
export class SubmissionService {
  private readonly logger = new Logger('dispatch');

  constructor(
    private readonly repo: DispatchRepository,
    private readonly directory: SiteDirectory,
    private readonly adapters: AdapterRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async submitPlaced(replica: string, now: Date = new Date()): Promise<number> {
    const tasks = await this.repo.claim('submit', replica, now, this.config.leaseSeconds, BATCH);
    await mapConcurrent(
      tasks,
      CONCURRENCY,
      (task) => this.submitOne(replica, task),
      (task, err) => this.logger.error({ taskId: task.id, err }, 'submission step failed'),
    );
    return tasks.length;
  }

  private async submitOne(replica: string, task: DispatchTask): Promise<void> {
    const entry = await this.directory.site(task.siteId as string);
    const adapter = entry ? this.adapters.for(entry.adapterSite.kind) : undefined;
    let outcome: { ref: string } | { error: AdapterError };
    if (!entry || !adapter) {
      outcome = { error: new AdapterError('rejected', 'the site was removed or has no adapter') };
    } else {
      try {
        const ref = await adapter.submit(entry.adapterSite, {
          taskId: task.id,
          attempt: task.attempt,
          tes: task.document,
        });
        outcome = { ref };
      } catch (err) {
        outcome = {
          error: isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300)),
        };
      }
    }
    const now = new Date();
    const slug = entry?.adapterSite.slug ?? task.siteId;
    if ('ref' in outcome) {
      await this.repo.withClaim(
        task.id,
        replica,
        (fresh) => ({
          // A cancel that arrived meanwhile left the task CANCELING: the cancel loop now has a ref to stop.
          update: {
            remoteId: outcome.ref,
            logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => ({
              ...l,
              metadata: { ...l.metadata, remote_id: outcome.ref },
            })),
            nextCheckAt: new Date(now.getTime() + this.config.trackSeconds * 1000),
          },
        }),
        now,
      );
      this.logger.log({ taskId: task.id, site: slug, remoteId: outcome.ref }, `task submitted to ${slug}`);
      return;
    }
    const { error } = outcome;
    const offline = entry?.health === 'offline';
    if (error.kind === 'unreachable' && !offline) {
      this.logger.warn({ taskId: task.id, site: slug, err: error.message }, 'site unreachable; will retry');
      await this.repo.release(task.id, replica, new Date(now.getTime() + retryDelayMs(this.config)));
      return;
    }
    const reason = `${slug} ${offline ? 'is offline' : 'did not take the task'}: ${error.message}`;
    await this.repo.withClaim(
      task.id,
      replica,
      (fresh) => {
        if (fresh.state !== 'INITIALIZING') return null;
        const decision = decideAttempt(attemptContext(fresh, this.config), { kind: 'refused', reason });
        return transitionFor(fresh, decision, undefined, now, this.config);
      },
      now,
    );
    this.logger.warn({ taskId: task.id, site: slug, kind: error.kind }, reason);
  }
}
