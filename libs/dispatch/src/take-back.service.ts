import { Inject, Injectable } from '@nestjs/common';
import { type AdapterError, isAdapterError, isBudgetWait, type RemoteStatus } from '@constellation/adapters';
import { overdueAtSite, TakeBack, takeBackChoice, TakeBackSettings } from '@constellation/scheduler';
import { DispatchTask, OverdueQueued } from '@constellation/tes';
import { addSystemLog, withAttemptLog } from './attempt-log';
import { backInQueue } from './attempt-changes';
import { HeldLease, overdueQueuedClaims, workEachClaimed } from './leased-claims';
import { PlacementService } from './placement.service';
import { SiteStep } from './site-step';

/** Overdue tasks one pass judges at most: each costs a placement and, when it moves, two site requests. */
const BATCH = 16;
/** Judged at once: placement reads the whole network for each. */
const CONCURRENCY = 2;
/**
 * Longest pause between two passes of a replica (the simulator looks every track interval, 5 s): a pass reads
 * the INITIALIZING tasks (task_state_id_idx), which a round every second need not repeat. Shorter when
 * CONSTELLATION_TAKE_BACK_LOOK_SECONDS is.
 */
const PASS_EVERY_MS = 5_000;

/** What the take-back of one attempt records on the task (its placement record's `taken_back`). */
export interface TakenBack {
  attempt: number;
  site_id: string;
  site: string;
  queued_s: number;
  to_site: string;
  sooner_s: number;
  reason: string;
}

/** The note of a take-back: the event's reason, the log line and the record. */
export function takenBackNote(
  task: Pick<DispatchTask, 'attempt' | 'siteId'>,
  choice: TakeBack,
  atSiteS: number,
  slugs: ReadonlyMap<string, string>,
): TakenBack {
  const from = slugs.get(choice.fromSiteId) ?? choice.fromSiteId;
  const to = slugs.get(choice.toSiteId) ?? choice.toSiteId;
  const queuedS = Math.round(atSiteS);
  const soonerS = Math.round(choice.stayS - choice.moveS);
  return {
    attempt: task.attempt,
    site_id: choice.fromSiteId,
    site: from,
    queued_s: queuedS,
    to_site: to,
    sooner_s: soonerS,
    reason: `taken back from ${from} after ${queuedS} s queued; expected ${soonerS} s sooner at ${to}`,
  };
}

type Outcome = 'taken_back' | 'stay' | 'started' | 'cancel_failed';

/**
 * Takes back tasks a site still holds queued far beyond the wait placement expected there, when placing them
 * again promises an earlier completion elsewhere (libs/scheduler's take-back rule, the one the simulator
 * measures): the site is asked first and the task cancelled there only while it still says QUEUED; it then
 * goes back to QUEUED for its next attempt, which the attempt limit does not count. A task that started, or
 * whose cancel failed, stays where it is: its copy there is still the one the broker follows.
 */
@Injectable()
export class TakeBackService extends SiteStep {
  // Property injection: the base's constructor serves every step, this one only adds placement.
  @Inject(PlacementService) private readonly placement!: PlacementService;
  private lastPassAt = 0;

  /** One bounded pass, when one is due; how many tasks went back to placement. */
  async takeBackOverdue(replica: string): Promise<number> {
    const settings = this.config.takeBack;
    if (settings === null) return 0;
    const now = Date.now();
    if (now - this.lastPassAt < Math.min(PASS_EVERY_MS, this.config.takeBackLookSeconds * 1000)) return 0;
    this.lastPassAt = now;
    let moved = 0;
    await workEachClaimed(
      overdueQueuedClaims(this.leases, replica, this.config.leaseSeconds, {
        ...settings,
        lookSeconds: this.config.takeBackLookSeconds,
      }),
      CONCURRENCY,
      BATCH,
      async (row, lease) => {
        const outcome = await this.judge(replica, row, settings, lease);
        if (outcome === undefined) return;
        this.metrics.takeBacks.inc({ outcome });
        if (outcome === 'taken_back') moved++;
      },
      (row, err) => this.logger.error({ taskId: row.task.id, err }, 'take-back step failed'),
    );
    return moved;
  }

  /** Judges one claimed task and acts; undefined when it was not judged (not overdue, site unknown). */
  private async judge(
    replica: string,
    row: OverdueQueued,
    settings: TakeBackSettings,
    lease: HeldLease,
  ): Promise<Outcome | undefined> {
    const { task } = row;
    const now = new Date();
    const atSiteS = (now.getTime() - row.decidedAt.getTime()) / 1000;
    // The claim's filter is the same rule in SQL; this is the rule itself, shared with the simulator.
    if (!overdueAtSite(atSiteS, row.expectedWaitS, task.takeBacks, settings)) {
      await lease.release();
      return undefined;
    }
    const judged = await this.placement.placeAsIfLeft(task, now);
    const choice = judged && takeBackChoice(judged.placement, task.siteId as string, atSiteS, settings);
    if (!judged || !choice) {
      await lease.release();
      return 'stay';
    }
    const note = takenBackNote(task, choice, atSiteS, judged.slugs);
    const log = { taskId: task.id, site: note.site, attempt: task.attempt };
    const { entry, adapter } = await this.reach(task.siteId as string);
    // A site gone from the registry is failover's to handle.
    if (!entry || !adapter || task.remoteId === null) {
      await lease.release();
      return undefined;
    }
    let status: RemoteStatus | AdapterError | undefined;
    try {
      status = (await adapter.status(entry.adapterSite, [task.remoteId])).get(task.remoteId);
    } catch (err) {
      if (isBudgetWait(err)) {
        // The site's request budget is spent: judged again at the budget's turn, its check not moved.
        await this.leases.defer(replica, [{ id: task.id, at: err.retryAt }]);
        return undefined;
      }
      status = isAdapterError(err) ? err : undefined;
    }
    if (status === undefined || isAdapterError(status) || status.state !== 'QUEUED') {
      const said = status === undefined || isAdapterError(status) ? 'did not answer' : `says ${status.state}`;
      this.logger.log(log, `not taken back: ${note.site} ${said}; it stays there`);
      await lease.release();
      return status !== undefined && !isAdapterError(status) ? 'started' : 'cancel_failed';
    }
    // The lease must still be this replica's before the cancel: another replica may own the task by now.
    if (!(await lease.renew())) return undefined;
    try {
      await adapter.cancel(entry.adapterSite, task.remoteId);
    } catch (err) {
      const message = isAdapterError(err) ? err.message : String(err).slice(0, 300);
      this.logger.warn(
        { ...log, err: message },
        `not taken back: the cancel at ${note.site} failed; it stays`,
      );
      await lease.release();
      return 'cancel_failed';
    }
    // Best effort, as after any ended attempt: what the site (or the broker's spool) keeps for it.
    await adapter.cleanup(entry.adapterSite, task.remoteId).catch(() => undefined);
    const written = await this.requeue(replica, row, note);
    if (written) this.logger.log(log, note.reason);
    return written ? 'taken_back' : undefined;
  }

  /** Back to QUEUED for the next attempt, no site excluded, counted as a take-back and not as a failure. */
  private async requeue(replica: string, row: OverdueQueued, note: TakenBack): Promise<boolean> {
    const now = new Date();
    const stamp = now.toISOString();
    let requeued = false;
    await this.decisions.withClaim(
      row.task.id,
      replica,
      (fresh) => {
        // A cancel or a status the tracking wrote meanwhile: the task is no longer the attempt judged.
        if (fresh.state !== 'INITIALIZING' || fresh.remoteId !== row.task.remoteId) return null;
        requeued = true;
        return {
          update: {
            ...backInQueue(now),
            logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => ({
              ...addSystemLog(l, note.reason),
              end_time: l.end_time ?? stamp,
            })),
            placement: { ...row.placement, taken_back: note },
            takeBacks: fresh.takeBacks + 1,
          },
          event: {
            from: 'INITIALIZING',
            to: 'QUEUED',
            siteId: fresh.siteId,
            attempt: fresh.attempt,
            reason: note.reason,
          },
        };
      },
      now,
    );
    if (requeued) this.metrics.requeues.inc({ cause: 'taken_back' });
    return requeued;
  }
}
