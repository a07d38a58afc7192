import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AdapterError,
  SiteAdapters,
  isAdapterError,
  RemoteStatus,
  SiteAdapter,
} from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { SiteCatalog } from '@constellation/registry';
import { TaskChangeRepository } from '@constellation/tes';
import { AbandonedCopy, AbandonedCopyRepository } from './abandoned-copy.repository';
import { DispatchMetrics } from './dispatch.metrics';
import { DecisionWriter } from './decision-writer';
import { SiteAccess, DispatchSites } from './dispatch-sites';
import { abandonedCopyClaims, HeldLease, workEachClaimed } from './leased-claims';
import { keepLease } from './lease-keeper';

const BATCH = 64;
const CONCURRENCY = 4;
/** A site that answers probes but keeps failing our calls about one copy is left alone after this long. */
const GIVE_UP_MS = 7 * 24 * 3600 * 1000;
/** A watch for a late second copy (remote id unknown) looks this many times before it is dropped. */
const WATCHES = 3;

const ACTIVE = new Set(['INITIALIZING', 'RUNNING', 'CANCELING']);
const FINISHED_BY_RUNNING = new Set(['COMPLETE', 'EXECUTOR_ERROR']);
const FINAL = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);

/** How a visit ended: the copy is dealt with, to be looked at again, or its claim was lost meanwhile. */
type Visit = 'settled' | 'again' | 'lost';

/**
 * Stops the copies tasks left behind at sites (AbandonedCopyEntity) once those sites answer again, so a
 * task never runs at two sites at once for longer than its old site stays unreachable. What it finds is
 * recorded on the task (an event of kind `copy` and a system log line); the task's own state and outcome
 * never change: a copy that ran to its end anyway is reported, not adopted. Copies are claimed through the
 * claim loop every dispatch step uses; a visit renews its lease while the site's calls run, and one whose claim
 * was lost meanwhile stops before it stops or records another copy.
 */
@Injectable()
export class AbandonedCopiesService {
  private readonly logger = new Logger('dispatch');

  constructor(
    private readonly copies: AbandonedCopyRepository,
    private readonly tasks: TaskChangeRepository,
    private readonly decisions: DecisionWriter,
    private readonly directory: DispatchSites,
    private readonly catalog: SiteCatalog,
    private readonly adapters: SiteAdapters,
    private readonly metrics: DispatchMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async stopAbandoned(replica: string): Promise<number> {
    const offline = (await this.catalog.summaries()).filter((s) => s.health === 'offline').map((s) => s.id);
    return workEachClaimed(
      abandonedCopyClaims(this.copies, replica, this.config.leaseSeconds, offline),
      CONCURRENCY,
      BATCH,
      (copy, held) => this.visitHeld(replica, copy, held),
      (copy, err) => this.logger.error({ taskId: copy.taskId, err }, 'abandoned copy step failed'),
    );
  }

  /** Visits a claimed copy, its lease renewed while the site's calls run (one slow site can take minutes). */
  private async visitHeld(replica: string, copy: AbandonedCopy, held: HeldLease): Promise<void> {
    const lease = keepLease(held, this.config.leaseSeconds * 1000);
    let outcome: Visit;
    try {
      outcome = await this.visit(replica, copy, () => lease.stillOurs());
    } finally {
      lease.end();
    }
    if (outcome === 'lost') {
      this.logger.warn(
        { taskId: copy.taskId },
        'abandoned copy visit lost its lease; left to its new holder',
      );
      // A no-op when another replica holds it; due at once when the lease merely ran out.
      await held.release();
    }
  }

  /**
   * One visit; `stillOurs` renews the claim before each step that stops or records a copy, and says whether
   * it is still this replica's.
   */
  private async visit(
    replica: string,
    copy: AbandonedCopy,
    stillOurs: () => Promise<boolean>,
  ): Promise<Visit> {
    const entry = await this.directory.site(copy.siteId);
    const adapter = entry ? this.adapters.for(entry.adapterSite.kind) : undefined;
    const task = await this.tasks.find(copy.taskId);
    if (!entry || !adapter || !task) return this.settle(copy, replica);
    // The task came back to this very attempt at this site (it cannot, attempts only grow; but a watch for a
    // late second copy is about the live attempt): its live copy is the one not to stop.
    const liveHere = task.attempt === copy.attempt && task.siteId === copy.siteId && ACTIVE.has(task.state);
    let outcome: Visit;
    try {
      if (liveHere && task.remoteId === null)
        outcome = 'again'; // still being submitted: which copy is live?
      else outcome = await this.stop(entry, adapter, copy, liveHere ? task.remoteId : null, stillOurs);
    } catch (err) {
      const message = isAdapterError(err) ? `${err.kind}: ${err.message}` : String(err).slice(0, 300);
      this.logger.warn(
        { taskId: copy.taskId, site: entry.adapterSite.slug, err: message },
        'abandoned copy not stopped yet; will retry',
      );
      if (Date.now() - copy.createdAt.getTime() > GIVE_UP_MS) {
        if (!(await stillOurs())) return 'lost';
        this.metrics.abandonedCopies.inc({ outcome: 'given_up' });
        await this.decisions.recordCopy(
          copy.taskId,
          copy.attempt,
          copy.siteId,
          `gave up stopping the copy of attempt ${copy.attempt} at ${entry.adapterSite.slug} after 7 days (${message})`,
          new Date(),
        );
        return this.settle(copy, replica);
      }
      return this.postpone(copy, replica, this.backoffMs(copy.tries));
    }
    if (outcome === 'lost') return outcome;
    if (outcome === 'again' || (copy.remoteId === null && liveHere && copy.tries + 1 < WATCHES)) {
      // A watch for a late copy of the live attempt looks again a little later, a few times.
      const wait = Math.max(this.backoffMs(copy.tries), this.config.submitDoubtSeconds * 1000);
      return this.postpone(copy, replica, wait);
    }
    return this.settle(copy, replica);
  }

  private async settle(copy: AbandonedCopy, replica: string): Promise<Visit> {
    await this.copies.settle(copy.id, replica);
    return 'settled';
  }

  private async postpone(copy: AbandonedCopy, replica: string, waitMs: number): Promise<Visit> {
    await this.copies.postpone(copy.id, replica, new Date(Date.now() + waitMs));
    return 'again';
  }

  /**
   * Stops every copy the row stands for except `live`, unless the claim is lost first; throws when the site
   * does not answer.
   */
  private async stop(
    entry: SiteAccess,
    adapter: SiteAdapter,
    copy: AbandonedCopy,
    live: string | null,
    stillOurs: () => Promise<boolean>,
  ): Promise<Visit> {
    const site = entry.adapterSite;
    const refs = (
      copy.remoteId !== null ? [copy.remoteId] : await adapter.copies(site, copy.taskId, copy.attempt)
    ).filter((ref) => ref !== live);
    if (refs.length === 0) return 'settled';
    const statuses = await adapter.status(site, refs);
    for (const ref of refs) {
      if (!(await stillOurs())) return 'lost';
      const status = statuses.get(ref);
      const note = await this.stopOne(entry, adapter, copy, ref, status);
      if (note !== null)
        await this.decisions.recordCopy(copy.taskId, copy.attempt, copy.siteId, note, new Date());
    }
    return 'settled';
  }

  /** One copy: reported if it already ended, cancelled and cleaned if not. The note to record, if any. */
  private async stopOne(
    entry: SiteAccess,
    adapter: SiteAdapter,
    copy: AbandonedCopy,
    ref: string,
    status: RemoteStatus | AdapterError | undefined,
  ): Promise<string | null> {
    const site = entry.adapterSite;
    const what = `the copy ${ref} of attempt ${copy.attempt} at ${site.slug}`;
    if (isAdapterError(status) && status.kind === 'lost') {
      this.metrics.abandonedCopies.inc({ outcome: 'gone' });
      return null;
    }
    if (status !== undefined && !isAdapterError(status) && FINAL.has(status.state)) {
      await adapter.cleanup(site, ref).catch(() => undefined);
      if (!FINISHED_BY_RUNNING.has(status.state)) {
        this.metrics.abandonedCopies.inc({ outcome: 'gone' });
        return null;
      }
      this.metrics.abandonedCopies.inc({ outcome: 'finished_anyway' });
      this.logger.warn(
        { taskId: copy.taskId, site: site.slug, remoteId: ref },
        'abandoned copy ran to its end',
      );
      return `${what} ran to its end anyway (${status.state}) after the task had left it (${copy.reason}); its outcome was ignored`;
    }
    await adapter.cancel(site, ref);
    await adapter.cleanup(site, ref).catch(() => undefined);
    this.metrics.abandonedCopies.inc({ outcome: 'stopped' });
    this.logger.log({ taskId: copy.taskId, site: site.slug, remoteId: ref }, 'stopped an abandoned copy');
    return `stopped ${what}, left behind when ${copy.reason}`;
  }

  /** 30 s, doubling, at most the probe interval (and a minute): a site that answers again is seen soon. */
  private backoffMs(tries: number): number {
    const cap = Math.max(60_000, this.config.probeSeconds * 1000);
    return Math.min(cap, 30_000 * 2 ** Math.min(tries, 10));
  }
}
