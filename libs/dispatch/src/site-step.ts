import { Inject, Injectable, Logger } from '@nestjs/common';
import { SiteAdapter, SiteAdapters } from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { DispatchTask, Phase, TaskChangeRepository, TaskLeaseRepository } from '@constellation/tes';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchSites, SiteAccess } from './dispatch-sites';
import { HeldLease, taskClaims, workEachClaimed } from './leased-claims';
import { CallBatcher } from './call-batcher';
import { DecisionWriter } from './decision-writer';

/** Tasks one pass of a per-task step takes at most. */
const BATCH = 64;
/** Tasks a per-task step works on at once, unless the step says otherwise. */
const CONCURRENCY = 8;

/**
 * What every dispatch step that calls sites shares: the task rows, the sites with their adapters, metrics and
 * settings. A step extends it (Nest injects the base's constructor for it) and declares only what it adds.
 */
@Injectable()
export abstract class SiteStep {
  protected readonly logger = new Logger('dispatch');
  /**
   * Workers that ask for a task at the same time (they start together, and a batch of answers written
   * together frees them together) share one claim statement, each still claiming just before its work.
   */
  private readonly claims = new Map<string, CallBatcher<void, DispatchTask | undefined>>();

  constructor(
    protected readonly leases: TaskLeaseRepository,
    protected readonly tasks: TaskChangeRepository,
    protected readonly decisions: DecisionWriter,
    protected readonly directory: DispatchSites,
    protected readonly adapters: SiteAdapters,
    protected readonly metrics: DispatchMetrics,
    @Inject(APP_CONFIG) protected readonly config: AppConfig,
  ) {}

  /**
   * A site as the step uses it and its adapter; either is missing once the site or its kind is gone. Asked
   * once per task, so a site read in the last second serves (DispatchSites.recentSite).
   */
  protected async reach(siteId: string): Promise<{ entry: SiteAccess | null; adapter?: SiteAdapter }> {
    return this.withAdapter(await this.directory.recentSite(siteId));
  }

  /** reach() for many sites in one read (a step's pass over every site with work due). */
  protected async reachAll(
    siteIds: readonly string[],
  ): Promise<Map<string, { entry: SiteAccess | null; adapter?: SiteAdapter }>> {
    const entries = await this.directory.sites(siteIds);
    return new Map(siteIds.map((id) => [id, this.withAdapter(entries.get(id) ?? null)]));
  }

  private withAdapter(entry: SiteAccess | null): { entry: SiteAccess | null; adapter?: SiteAdapter } {
    return { entry, adapter: entry ? this.adapters.for(entry.adapterSite.kind) : undefined };
  }

  private claimsOf(
    phase: Phase,
    replica: string,
    concurrency: number,
  ): CallBatcher<void, DispatchTask | undefined> {
    const key = `${phase} ${replica}`;
    let batcher = this.claims.get(key);
    if (!batcher) {
      batcher = new CallBatcher<void, DispatchTask | undefined>(async (asks) => {
        const tasks = await this.leases.claim(
          phase,
          replica,
          new Date(),
          this.config.leaseSeconds,
          asks.length,
        );
        return asks.map((_, i) => tasks[i]);
      }, concurrency);
      this.claims.set(key, batcher);
    }
    return batcher;
  }

  /**
   * Claims the tasks due in `phase` one at a time, just before working on each, a few at once (the claim loop
   * probes use too); a failed task is logged as a failed `what` step and left to its lease. How many were taken.
   */
  protected claimEachDue(
    phase: Phase,
    replica: string,
    work: (task: DispatchTask, lease: HeldLease) => Promise<void>,
    what: string,
    concurrency = CONCURRENCY,
  ): Promise<number> {
    return workEachClaimed(
      {
        ...taskClaims(this.leases, phase, replica, this.config.leaseSeconds),
        // Renewal and release as every claim; the claim itself shared by workers asking at once.
        claim: () => this.claimsOf(phase, replica, concurrency).call(),
      },
      concurrency,
      BATCH,
      work,
      (task, err) => this.logger.error({ taskId: task.id, err }, `${what} step failed`),
    );
  }
}
