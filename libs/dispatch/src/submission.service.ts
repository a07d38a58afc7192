import { Inject, Injectable } from '@nestjs/common';
import { AdapterError, isAdapterError, isBudgetWait, SiteAdapter } from '@constellation/adapters';
import type { DispatchTask } from '@constellation/tes';
import { attemptContext } from './attempt-context';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { withAttemptLog } from './attempt-log';
import { changeFor } from './attempt-changes';
import { CallBatcher } from './call-batcher';
import { DispatchNews } from './dispatch-news';
import { SubmissionAnswer } from './decision-writer';
import { SiteAccess } from './dispatch-sites';
import { SiteStep } from './site-step';
import { failingTooLong, retryDelayMs } from './site-failure-timing';
import { firstPace, nextPace } from './track-pacing';
import { TrackingService } from './tracking.service';

type Outcome = { ref: string } | { error: AdapterError };

/** A site's answer to write on its task, if this replica still holds the task's claim. */
interface Recording {
  replica: string;
  id: string;
  /** The task as this replica's claim read it. */
  claimed: DispatchTask;
  answer: (fresh: DispatchTask) => SubmissionAnswer;
}

/** Most answers written in one transaction. */
const MAX_RECORDS_PER_BATCH = 64;
/**
 * Sends in flight at once per replica. A send waits mostly on the site, and workers that ask together share
 * one claim and one recording statement, so more of them in flight make fewer statements per task: with 8, a
 * burst of 1,000 creates was claimed about 3 at a time and reached its sites at about 200 tasks/s with two
 * replicas (npm run bench:dispatch; docs/dispatch.md, "Where a task's CPU goes").
 */
const SUBMISSION_CONCURRENCY = 32;

/** Sends placed tasks to their sites: each worker claims one task just before sending it; idempotent on the wire. */
@Injectable()
export class SubmissionService extends SiteStep {
  // Property injection: the base's constructor serves every step, this one only adds tracking and the news it tells the loop.
  @Inject(TrackingService) private readonly tracking!: TrackingService;
  @Inject(DispatchNews) private readonly news!: DispatchNews;
  /** Answers that arrive while others are written go together: one transaction for them, not one each. */
  private readonly recordings = new CallBatcher<Recording, boolean>(
    (items) => this.recordAll(items),
    MAX_RECORDS_PER_BATCH,
  );

  submitPlaced(replica: string): Promise<number> {
    // One read of each site per run: a burst of tasks for one site costs one read (and one decryption of
    // its credentials), not one each. A failed read is not kept, so one failure costs one task its turn.
    const reads = new Map<string, ReturnType<SiteStep['reach']>>();
    const reach = (siteId: string) => {
      let read = reads.get(siteId);
      if (!read) {
        read = this.reach(siteId);
        reads.set(siteId, read);
        read.catch(() => reads.delete(siteId));
      }
      return read;
    };
    return this.claimEachDue(
      'submit',
      replica,
      (task) => this.submitOne(replica, task, reach),
      'submission',
      SUBMISSION_CONCURRENCY,
    );
  }

  private async submitOne(replica: string, task: DispatchTask, reach: SiteStep['reach']): Promise<void> {
    const { entry, adapter } = await reach(task.siteId as string);
    const slug = entry?.adapterSite.slug ?? task.siteId;
    if (!entry || !adapter || (entry.adminState !== 'active' && entry.adminState !== 'draining')) {
      // Placed a moment before the site was disabled or removed: placement chooses again.
      const state = entry ? `is ${entry.adminState}` : 'was removed';
      const mayExist = !!entry && !!adapter && !adapter.brokerChosenIds && task.submitDoubtAt !== null;
      return this.fail(
        replica,
        task,
        { kind: 'refused', reason: `${slug} ${state}; not submitted there` },
        mayExist,
      );
    }
    // The site chooses ids and an earlier send of this attempt got no answer: it may have made a copy we
    // cannot name. Look for it, and send again only once it has had long enough to land.
    let resentAfterDoubt = false;
    if (!adapter.brokerChosenIds && task.submitDoubtAt !== null) {
      const doubt = await this.settleDoubt(replica, task, adapter, entry);
      if (doubt === 'settled') return;
      resentAfterDoubt = true;
    }
    const outcome = await this.send(adapter, entry, task, task.firstSend === true && !resentAfterDoubt);
    const now = new Date();
    if ('ref' in outcome) {
      return this.record(replica, task, adapter, entry, outcome.ref, now, resentAfterDoubt);
    }
    return this.failed(replica, task, entry, adapter, outcome.error, now);
  }

  /** After a send that got no ref: retry later, or give the attempt up, remembering a copy that may exist. */
  private async failed(
    replica: string,
    task: DispatchTask,
    entry: SiteAccess,
    adapter: SiteAdapter,
    error: AdapterError,
    now: Date,
  ): Promise<void> {
    if (isBudgetWait(error)) {
      // The look-up for an earlier copy found no room in the site's budget: nothing was sent, so the task is
      // sent at the budget's turn, looking again first, with no failure counted.
      this.metrics.submissions.inc({ outcome: 'retried' });
      await this.leases.defer(replica, [{ id: task.id, at: error.retryAt }]);
      return;
    }
    const slug = entry.adapterSite.slug;
    const doubtful = !adapter.brokerChosenIds && (error.inDoubt || task.submitDoubtAt !== null);
    const transient = error.kind === 'unreachable' || error.kind === 'auth_failed';
    if (entry.health === 'offline' || (transient && failingTooLong(task.failingSince, now, this.config))) {
      const why = entry.health === 'offline' ? 'is offline' : 'has not taken the task for too long';
      return this.fail(
        replica,
        task,
        { kind: 'site_offline', reason: `${slug} ${why}: ${error.message}` },
        doubtful,
      );
    }
    if (transient) {
      // Not the task's fault: a site that is down or refuses our credentials costs it no attempt.
      this.logger.warn(
        { taskId: task.id, site: slug, kind: error.kind, err: error.message, inDoubt: error.inDoubt },
        'submission will be retried',
      );
      this.metrics.submissions.inc({ outcome: 'retried' });
      await this.leases.releaseFailing(
        task.id,
        replica,
        new Date(now.getTime() + retryDelayMs(this.config)),
        now,
        doubtful && error.inDoubt ? now : undefined,
      );
      return;
    }
    return this.fail(
      replica,
      task,
      { kind: 'refused', reason: `${slug} did not take the task: ${error.message}` },
      doubtful,
    );
  }

  /**
   * Looks for the copy an unanswered send may have made. Found: adopt the oldest and stop any other at
   * once ('settled'). Not found while the site may still be creating it: wait ('settled', retried later).
   * Not found after CONSTELLATION_SUBMIT_DOUBT_SECONDS: the send never landed, so send again ('resend').
   */
  private async settleDoubt(
    replica: string,
    task: DispatchTask,
    adapter: SiteAdapter,
    entry: SiteAccess,
  ): Promise<'settled' | 'resend'> {
    const site = entry.adapterSite;
    let refs: string[];
    try {
      refs = await adapter.copies(site, task.id, task.attempt);
    } catch (err) {
      const error = isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300));
      await this.failed(replica, task, entry, adapter, error, new Date());
      return 'settled';
    }
    const now = new Date();
    if (refs.length > 0) {
      const [keep, ...extra] = refs;
      const running: string[] = [];
      for (const ref of extra)
        if (!(await this.stopExtra(task, entry, adapter, ref, keep, now))) running.push(ref);
      this.logger.log(
        { taskId: task.id, site: site.slug, remoteId: keep },
        'found the copy of an unanswered submission',
      );
      await this.record(replica, task, adapter, entry, keep, now, false);
      // Left to the abandoned-copies step once the kept copy is recorded: before, it could not tell which
      // copy the task follows and would wait its back-off out.
      for (const ref of running) {
        await this.decisions.leaveCopy(
          task.id,
          {
            siteId: site.id,
            attempt: task.attempt,
            remoteId: ref,
            reason: `an extra copy ${ref} of attempt ${task.attempt} at ${site.slug}; the broker follows ${keep}`,
          },
          now,
        );
      }
      return 'settled';
    }
    const waited = now.getTime() - (task.submitDoubtAt as Date).getTime();
    if (waited < this.config.submitDoubtSeconds * 1000) {
      const left = this.config.submitDoubtSeconds * 1000 - waited;
      await this.leases.releaseFailing(
        task.id,
        replica,
        new Date(now.getTime() + Math.min(left, retryDelayMs(this.config))),
        now,
      );
      return 'settled';
    }
    return 'resend';
  }

  /**
   * A second copy of one attempt: stopped at once, and said so on the task. False when the site did not stop
   * it: the caller leaves it to the abandoned-copies step, which tries until the site answers.
   */
  private async stopExtra(
    task: DispatchTask,
    entry: SiteAccess,
    adapter: SiteAdapter,
    ref: string,
    keep: string,
    now: Date,
  ): Promise<boolean> {
    const slug = entry.adapterSite.slug;
    try {
      await adapter.cancel(entry.adapterSite, ref);
      await adapter.cleanup(entry.adapterSite, ref).catch(() => undefined);
    } catch (err) {
      this.logger.warn(
        { taskId: task.id, site: slug, remoteId: ref, err: String(err) },
        'extra copy not stopped yet; left to the abandoned-copies step',
      );
      return false;
    }
    this.logger.warn({ taskId: task.id, site: slug, remoteId: ref }, 'stopped an extra copy of an attempt');
    this.metrics.abandonedCopies.inc({ outcome: 'extra' });
    await this.decisions.recordCopy(
      task.id,
      task.attempt,
      entry.adapterSite.id,
      `stopped an extra copy ${ref} of attempt ${task.attempt} at ${slug}; the broker follows ${keep}`,
      now,
    );
    return true;
  }

  /** `firstSend`: the claim proved no send of this attempt went out before, so the site's lookup is skipped. */
  private async send(
    adapter: SiteAdapter,
    entry: SiteAccess,
    task: DispatchTask,
    firstSend: boolean,
  ): Promise<Outcome> {
    try {
      return {
        ref: await adapter.submit(entry.adapterSite, {
          taskId: task.id,
          attempt: task.attempt,
          tes: task.document,
          firstSend,
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
    resentAfterDoubt: boolean,
  ): Promise<void> {
    const slug = entry.adapterSite.slug;
    const firstCheck = adapter.statusMode === 'pushed' ? null : firstPace(now, this.config);
    const held = await this.recordings.call({
      replica,
      id: task.id,
      claimed: task,
      answer: (fresh) => ({
        remoteId: ref,
        logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => ({
          ...l,
          metadata: { ...l.metadata, remote_id: ref },
        })),
        // A cancel that arrived meanwhile left the task CANCELING: the cancel step now has a ref to stop.
        ...(fresh.state === 'CANCELING'
          ? { nextCheckAt: now }
          : (firstCheck ?? nextPace('pushed', null, true, now, this.config))),
        // The unanswered send may still land, later than we waited: look once more for a second copy then.
        abandon: resentAfterDoubt
          ? {
              siteId: entry.adapterSite.id,
              attempt: fresh.attempt,
              remoteId: null,
              reason: `a submission to ${slug} got no answer and was sent again after ${this.config.submitDoubtSeconds} s`,
              dueAt: new Date(now.getTime() + this.config.submitDoubtSeconds * 1000),
            }
          : undefined,
      }),
    });
    if (held) {
      this.tracking.recorded(ref);
      // A pushed site's news needs no check: it is applied when it arrives.
      if (firstCheck) this.news.submitted(firstCheck.nextCheckAt);
      this.metrics.submissions.inc({ outcome: 'submitted' });
      this.logger.log({ taskId: task.id, site: slug, remoteId: ref }, `task submitted to ${slug}`);
      return;
    }
    // The lease ran out while the site answered and another replica took over: unless it adopted this very
    // copy (its own submission finds it by tags), stop it, so one attempt never runs twice.
    const current = await this.tasks.find(task.id);
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

  private async recordAll(items: Recording[]): Promise<boolean[]> {
    const held = new Map<Recording, boolean>();
    // One replica's steps share a batcher: in practice one group.
    for (const replica of new Set(items.map((i) => i.replica))) {
      const mine = items.filter((i) => i.replica === replica);
      const done = await this.decisions.recordSubmissions(replica, mine, new Date());
      mine.forEach((item, i) => held.set(item, done[i]));
    }
    return items.map((item) => held.get(item) as boolean);
  }

  /** Gives the attempt up; `mayExist`: an unanswered send may have left a copy there, stopped later. */
  private async fail(
    replica: string,
    task: DispatchTask,
    event: AttemptEvent,
    mayExist = false,
  ): Promise<void> {
    const now = new Date();
    this.metrics.submissions.inc({ outcome: 'refused' });
    await this.decisions.withClaim(
      task.id,
      replica,
      (fresh) => {
        // Cancelled meanwhile: the cancel step ends it, looking for any copy by its tags.
        if (fresh.state !== 'INITIALIZING') return { update: { nextCheckAt: now } };
        const decision = decideAttempt(attemptContext(fresh, this.config), event);
        this.metrics.decided(decision);
        const transition = changeFor(fresh, decision, undefined, now, this.config);
        if (!mayExist || fresh.siteId === null || !('reason' in event)) return transition;
        return {
          ...transition,
          abandon: { siteId: fresh.siteId, attempt: fresh.attempt, remoteId: null, reason: event.reason },
        };
      },
      now,
    );
    this.logger.warn(
      { taskId: task.id, site: task.siteId },
      'reason' in event ? event.reason : 'submission failed',
    );
  }
}
