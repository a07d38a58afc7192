import { Inject, Injectable } from '@nestjs/common';
import {
  AdapterError,
  isAdapterError,
  type DeliveryProgress,
  isBudgetWait,
  type RemoteStatus,
  type SiteAdapter,
} from '@constellation/adapters';
import type { DispatchTask, TesOutputFileLog } from '@constellation/tes';
import { attemptContext } from './attempt-context';
import { AttemptDecision, AttemptEvent, decideAttempt } from './attempt-outcome';
import { addSystemLog, withAttemptLog } from './attempt-log';
import { changeFor } from './attempt-changes';
import { TaskChange } from './decision-writer';
import { SiteAccess } from './dispatch-sites';
import { SiteStep } from './site-step';
import { LeaseKeeper } from './lease-keeper';
import { HeldLease, leaseOf, taskClaims } from './leased-claims';
import { DeliveredOutputRepository } from './delivered-output.repository';

/** Deliveries one replica runs at once; each may stream gigabytes for a long time. */
const MAX_IN_FLIGHT = 8;
/** Longest wait between two tries of one delivery. */
const MAX_RETRY_MS = 3_600_000;

type Result = { status: RemoteStatus } | { error: AdapterError };
/** What ends a delivery: what the site or adapter said, or the broker giving up on a destination. */
type Outcome = AttemptEvent | { givenUp: string };

/**
 * Delivers the outputs of attempts that finished at sites leaving them to the broker (Pulsar): a leased step
 * of its own, apart from tracking, so a status check only reads and a slow destination never holds a round up.
 * Each delivery is claimed with a lease that is extended while it runs; a failed delivery is retried alone,
 * with backoff and a bounded number of tries, and never runs the job again. The attempt is cleaned at its site
 * once delivery is done or given up.
 */
@Injectable()
export class DeliveryService extends SiteStep {
  @Inject(DeliveredOutputRepository) private readonly written!: DeliveredOutputRepository;
  private readonly inFlight = new Map<string, { stop: AbortController; done: Promise<void> }>();
  private stopping = false;

  /**
   * Claims due deliveries up to this replica's capacity and starts them without waiting for them to end: a
   * round must not last as long as its longest upload. Answers how many it started.
   */
  async startDue(replica: string): Promise<number> {
    let started = 0;
    const claims = taskClaims(this.leases, 'deliver', replica, this.config.leaseSeconds);
    while (!this.stopping && this.inFlight.size < MAX_IN_FLIGHT) {
      const task = await claims.claim();
      if (!task) break;
      const stop = new AbortController();
      const done = this.deliverOne(replica, task, leaseOf(claims, task), stop)
        .catch((err: unknown) => this.logger.error({ taskId: task.id, err }, 'delivery step failed'))
        .finally(() => this.inFlight.delete(task.id));
      this.inFlight.set(task.id, { stop, done });
      started++;
    }
    return started;
  }

  /** Deliveries still running in this process (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight.values()].map((d) => d.done));
  }

  /** Stops every delivery in flight and hands its task back, so another replica takes it over at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const d of this.inFlight.values()) d.stop.abort();
    await this.settled();
  }

  private async deliverOne(
    replica: string,
    task: DispatchTask,
    held: HeldLease,
    stop: AbortController,
  ): Promise<void> {
    const { entry, adapter } = await this.reach(task.siteId as string);
    if (!entry || !adapter?.deliver) {
      await this.decide(replica, task, { kind: 'lost', reason: 'the site was removed from the registry' });
      return;
    }
    const lease = new LeaseKeeper(
      () => held.renew(),
      this.config.leaseSeconds * 1000,
      () => stop.abort(),
    );
    const remoteId = task.remoteId as string;
    let result: Result;
    try {
      const status = await adapter.deliver(entry.adapterSite, remoteId, {
        signal: stop.signal,
        onBytes: () => lease.progressed(),
        ...(await this.resumed(replica, task, held, stop)),
      });
      result = { status };
    } catch (err) {
      const error = isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300));
      result = { error };
    } finally {
      lease.end();
    }
    if (stop.signal.aborted) {
      // Shutting down, cancelled, or the claim was lost: hand the task back (a no-op if another replica holds
      // it now), for whoever takes it next.
      await held.release();
      this.metrics.deliveries.inc({ outcome: 'stopped' });
      return;
    }
    if ('error' in result && isBudgetWait(result.error)) {
      // The site's budget had no room for the job's status: nothing was delivered, and no try is spent.
      await this.leases.defer(replica, [{ id: task.id, at: result.error.retryAt }]);
      return;
    }
    if ('status' in result) {
      await this.finish(replica, entry, adapter, task, { kind: 'status', status: result.status });
    } else if (result.error.kind === 'lost') {
      const reason = `${entry.adapterSite.slug} lost the task before its outputs were delivered: ${result.error.message}`;
      await this.finish(replica, entry, adapter, task, { kind: 'lost', reason });
    } else {
      await this.failedTry(replica, entry, adapter, task, result.error);
    }
  }

  /**
   * What makes a delivery resume where an earlier try stopped: the outputs that try wrote (this replica's, or
   * one's that died), and the record of each output this try writes. Only the replica holding the claim
   * records an output: one that lost it (the new holder may be writing the same output again meanwhile)
   * records nothing and stops, and the renewal just before the record leaves no time for a takeover in
   * between. When the records cannot be read or written, outputs are written again, as before they were kept.
   */
  private async resumed(
    replica: string,
    task: DispatchTask,
    held: HeldLease,
    stop: AbortController,
  ): Promise<Pick<DeliveryProgress, 'delivered' | 'onDelivered'>> {
    const remoteId = task.remoteId as string;
    const warn = (what: string) => (err: unknown) =>
      this.logger.warn({ taskId: task.id, replica, err: String(err).slice(0, 200) }, what);
    const delivered = await this.written.of(task.id, remoteId).catch((err: unknown) => {
      warn('reading the outputs already delivered failed')(err);
      return new Map<string, TesOutputFileLog>();
    });
    const onDelivered = async (key: string, log: TesOutputFileLog): Promise<void> => {
      if (stop.signal.aborted) return;
      if (!(await held.renew().catch(() => false))) {
        stop.abort();
        return;
      }
      await this.written
        .record(task.id, remoteId, key, log)
        .catch(warn('recording a delivered output failed'));
    };
    return { delivered, onDelivered };
  }

  /** The delivery ended the attempt one way or another: write it, then clean the attempt at its site. */
  private async finish(
    replica: string,
    entry: SiteAccess,
    adapter: SiteAdapter,
    task: DispatchTask,
    event: AttemptEvent,
  ): Promise<void> {
    this.metrics.deliveries.inc({
      outcome: event.kind === 'status' && event.status.state === 'COMPLETE' ? 'delivered' : 'failed',
    });
    if (await this.decide(replica, task, event)) await this.cleanup(entry, adapter, task);
  }

  /** A destination or the site failed: try again later, alone, or give up after the last try. */
  private async failedTry(
    replica: string,
    entry: SiteAccess,
    adapter: SiteAdapter,
    task: DispatchTask,
    error: AdapterError,
  ): Promise<void> {
    const max = this.config.deliveryTries;
    const tries = (task.deliveryTries ?? 0) + 1;
    if (tries < max) {
      const waitMs = Math.min(MAX_RETRY_MS, this.config.deliveryRetrySeconds * 1000 * 2 ** (tries - 1));
      const line = `delivery try ${tries} of ${max} failed: ${error.message}; next try in ${Math.ceil(waitMs / 1000)} s`;
      this.metrics.deliveries.inc({ outcome: 'retried' });
      this.logger.warn({ taskId: task.id, site: entry.adapterSite.slug }, line);
      await this.decisions.withClaim(
        task.id,
        replica,
        (fresh) => {
          if (!this.stillDelivering(fresh, task)) return { update: { nextCheckAt: new Date() } };
          const now = new Date();
          return {
            update: {
              deliveryTries: tries,
              nextCheckAt: new Date(now.getTime() + waitMs),
              logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => addSystemLog(l, line)),
            },
          };
        },
        new Date(),
      );
      return;
    }
    const gaveUp = `gave up after ${tries} delivery tries (CONSTELLATION_DELIVERY_TRIES=${max})`;
    this.metrics.deliveries.inc({ outcome: 'given_up' });
    // A destination that keeps failing is the broker's problem to report, not a reason to run the job again;
    // a site that keeps failing to serve its own outputs fails the attempt like any site error.
    const event: Outcome =
      error.kind === 'undeliverable'
        ? { givenUp: `${error.message}; ${gaveUp}` }
        : {
            kind: 'status',
            status: {
              state: 'SYSTEM_ERROR',
              executorLogs: [],
              outputs: [],
              systemLogs: [`outputs could not be read from the site: ${error.message}; ${gaveUp}`],
            },
          };
    if (await this.decide(replica, task, event)) await this.cleanup(entry, adapter, task);
  }

  /** Applies the outcome under the row lock; true when the attempt ended. */
  private async decide(replica: string, task: DispatchTask, event: Outcome): Promise<boolean> {
    const now = new Date();
    let decided = '';
    await this.decisions.withClaim(
      task.id,
      replica,
      (fresh): TaskChange => {
        // Cancelled while delivering: the cancel step ends it; nothing more to write here.
        if (!this.stillDelivering(fresh, task)) return { update: { nextCheckAt: now } };
        const status = 'kind' in event && event.kind === 'status' ? event.status : undefined;
        const decision: AttemptDecision =
          'givenUp' in event
            ? { action: 'finish', state: 'SYSTEM_ERROR', reason: event.givenUp }
            : decideAttempt(attemptContext(fresh, this.config), event);
        this.metrics.decided(decision);
        decided = `${decision.action}: ${'reason' in decision ? decision.reason : decision.state}`;
        const change = changeFor(fresh, decision, status, now, this.config);
        return { ...change, update: { ...change.update, deliveryTries: null } };
      },
      now,
    );
    if (decided) {
      this.logger.log({ taskId: task.id }, `task ${task.id} ${decided}`);
      // The delivery is over with its attempt; rows left by a failure here go with the task.
      await this.written.forget(task.id, task.remoteId as string).catch(() => undefined);
    }
    return decided !== '';
  }

  private stillDelivering(fresh: DispatchTask, task: DispatchTask): boolean {
    return fresh.state === 'RUNNING' && fresh.deliveryTries !== null && fresh.remoteId === task.remoteId;
  }

  /** Frees what the site keeps for the attempt; best effort, as after tracking. */
  private async cleanup(entry: SiteAccess, adapter: SiteAdapter, task: DispatchTask): Promise<void> {
    await adapter.cleanup(entry.adapterSite, task.remoteId as string).catch((err: unknown) => {
      this.logger.warn(
        { taskId: task.id, site: entry.adapterSite.slug, err: String(err).slice(0, 200) },
        'cleanup failed',
      );
    });
  }
}
