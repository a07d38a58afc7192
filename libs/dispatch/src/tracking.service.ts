import { Inject, Injectable } from '@nestjs/common';
import {
  AdapterError,
  AdapterSite,
  isAdapterError,
  isBudgetWait,
  RemoteStatus,
  SiteAdapter,
} from '@constellation/adapters';
import { DispatchTask, QuietCheck, TaskTrackingRepository, WalkedTask } from '@constellation/tes';
import { AttemptEvent } from './attempt-outcome';
import { checkOutcome, Pacing } from './check-outcome';
import { SiteAccess } from './dispatch-sites';
import { SiteStep } from './site-step';
import { failingTooLong, retryDelayMs } from './site-failure-timing';
import { RequestBudget } from './request-budget';
import { PushOutcome, PushQueue } from './push-queue';
import { TrackingRepository } from './tracking.repository';
import { nextWalk, SITE_PACED_AT } from './track-pacing';
import { quietWalkCheck, reportedAsRecorded } from './walk-screen';
import {
  HeldLease,
  pushedClaims,
  siteCheckClaims,
  SiteWalk,
  siteWalkClaims,
  workEachClaimed,
} from './leased-claims';
import { keepLease } from './lease-keeper';

/**
 * Tasks of a listed site one walk reads: as many as one walk of its list can report on (the TES adapter reads
 * at most 20 pages of 500), so one walk answers for every task read.
 */
const LISTED_SITE_TASKS = 10_000;
/** Due tasks of a site asked per task (or pushed) one pass takes; its request budget defers the rest. */
const SITE_CLAIM = 2_000;
/** Sites of each kind (walked, asked per task) asked at once: a site that times out holds up only its own tasks. */
const SITE_CONCURRENCY = 8;
/** Pushed updates applied at once. */
const PUSH_CONCURRENCY = 4;
/** First pause before a pushed update whose task is leased is tried again (then doubled). */
const PUSH_RETRY_MS = 200;

/** A claimed task, with its row's version when the claim says it (the pushed path does not). */
interface Check {
  task: DispatchTask;
  version?: number;
}

/** A site as tracking uses it and its adapter; either is missing once the site or its kind is gone. */
interface Reached {
  entry: SiteAccess | null;
  adapter?: SiteAdapter;
}

/** A site that answers for all its tasks in one list, as a walk uses it. */
interface Listed {
  entry: SiteAccess;
  adapter: SiteAdapter;
}

/** What one status call said about one task: a status, a loss, or no answer (retry later). */
type Answer = { event: AttemptEvent } | { retry: AdapterError };

/**
 * Follows submitted tasks, site by site. A site that answers for all its tasks in one list (TES) is walked as
 * a whole, one replica at a time, paced by its own back-off: its tasks are read without a lock, a check that
 * found nothing new writes no task row, and only the tasks that changed are claimed and decided one at a
 * time under their row locks. A site asked per task (Pulsar REST) has its due tasks claimed and asked within
 * its request budget, the quiet checks written a batch at a time. News a site pushes (Pulsar AMQP) is applied
 * at once, under the same claim. Walks, per-task checks and pushed news are all claimed through the claim loop
 * every dispatch step uses (leased-claims.ts); a walk renews its lease while it runs.
 */
@Injectable()
export class TrackingService extends SiteStep {
  private pass: Promise<number> | null = null;
  private pushes: PushQueue | null = null;
  // Property injection: the base's constructor serves every step, this one only adds its claims by site.
  @Inject(TrackingRepository) private readonly tracked!: TrackingRepository;
  @Inject(TaskTrackingRepository) private readonly trackedTasks!: TaskTrackingRepository;
  @Inject(RequestBudget) private readonly budget!: RequestBudget;

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

  /** When the next task or site walk falls due; null when none is tracked. */
  async nextDue(): Promise<Date | null> {
    const due = (await Promise.all([this.leases.nextTrackDue(), this.tracked.nextWalkDue()])).filter(
      (at): at is Date => at !== null,
    );
    return due.length === 0 ? null : new Date(Math.min(...due.map((at) => at.getTime())));
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
    const claims = pushedClaims(this.leases, ref, replica, this.config.leaseSeconds);
    await workEachClaimed(
      claims,
      1,
      Infinity,
      async (task) => this.checkSite(replica, await this.reach(task.siteId as string), [{ task }]),
      (task, err) => this.logger.error({ ref, taskId: task.id, err }, 'applying a pushed status failed'),
    );
    return claims.missed() ?? 'applied';
  }

  /**
   * The sites with a task due on its own or a walk due: the listed ones have their walks claimed and walked,
   * the others their due tasks claimed and asked, both through the claim loop.
   */
  private async trackDue(replica: string): Promise<number> {
    const now = new Date();
    const [byTask, byWalk] = await Promise.all([this.trackedTasks.dueSites(now), this.tracked.dueWalks(now)]);
    const due = [...new Set([...byTask, ...byWalk])];
    // One read of every due site for the pass, not one each: a pass comes after every submission.
    const reached = due.length === 0 ? new Map<string, Reached>() : await this.reachAll(due);
    const listed = new Map<string, Listed>();
    const asked: { siteId: string; dueBy: Date }[] = [];
    for (const [siteId, { entry, adapter }] of reached) {
      if (entry && adapter?.statusMode === 'listed') listed.set(siteId, { entry, adapter });
      // A site gone from the registry has every task claimed, paced by its walk or not, to be marked lost.
      else asked.push({ siteId, dueBy: adapter ? now : SITE_PACED_AT });
    }
    const lease = this.config.leaseSeconds;
    let tracked = 0;
    await Promise.all([
      workEachClaimed(
        siteWalkClaims(this.tracked, replica, lease, [...listed.keys()]),
        SITE_CONCURRENCY,
        listed.size,
        async (walk, held) => {
          tracked += await this.walkSite(replica, walk, listed.get(walk.siteId) as Listed, held);
        },
        (walk, err) => this.logger.error({ siteId: walk.siteId, err }, 'tracking step failed'),
      ),
      workEachClaimed(
        siteCheckClaims(this.trackedTasks, this.leases, replica, lease, asked, SITE_CLAIM),
        SITE_CONCURRENCY,
        asked.length,
        async ({ siteId, checks }) => {
          tracked += checks.length;
          await this.checkSite(replica, reached.get(siteId) as Reached, checks, true);
        },
        (site, err) => this.logger.error({ siteId: site.siteId, err }, 'tracking step failed'),
      ),
    ]);
    return tracked;
  }

  /**
   * One walk of a listed site this replica claimed; the next walk starts 0.5 s after this one did when a task
   * was new or changed, else the walk's back-off doubles (also after a walk that failed part way), and never
   * sooner than 0.5 s after this one ended (see nextWalk). The lease is renewed
   * while the walk runs (a site slow to list thousands of tasks); a walk whose claim was lost meanwhile writes
   * nothing and hands the walk back. How many tasks the walk covered.
   */
  private async walkSite(replica: string, walk: SiteWalk, site: Listed, held: HeldLease): Promise<number> {
    const startedAt = new Date();
    const lease = keepLease(held, this.config.leaseSeconds * 1000);
    let tasks: WalkedTask[] = [];
    let changed: boolean | null = false;
    try {
      tasks = await this.trackedTasks.siteTasks(walk.siteId, LISTED_SITE_TASKS, SITE_PACED_AT);
      if (tasks.length > 0) changed = await this.walk(replica, site, tasks, () => lease.stillOurs());
    } finally {
      lease.end();
      if (changed === null) {
        this.logger.warn({ siteId: walk.siteId }, 'site walk lost its lease; nothing written');
        await held.release();
      } else {
        // A site with nothing to walk is still looked at each interval: a task whose claim ran out is read then.
        // A walk that failed part way (`changed` still false) backs off as one that found nothing new: an error
        // that fails every walk (a bad row) then costs the site one list per CONSTELLATION_TRACK_SECONDS, not
        // one every half second, and a database back from an outage is walked within that interval.
        const pace = nextWalk(walk.intervalMs, changed, startedAt, new Date(), this.config);
        await this.tracked.endWalk(walk.siteId, replica, pace.nextCheckAt, pace.trackIntervalMs);
      }
    }
    return changed === null ? 0 : tasks.length;
  }

  /**
   * Asks a listed site about its tasks in one walk. A task it already covers and that found nothing new costs
   * no write; a new one (its first walk) or one whose remote state moved quietly is written a batch at a
   * time; the others are claimed, read whole, and decided one at a time. Whether any task was new or changed;
   * null when
   * `stillOurs` found the walk's claim lost before it wrote anything.
   */
  private async walk(
    replica: string,
    { entry, adapter }: Listed,
    tasks: WalkedTask[],
    stillOurs: () => Promise<boolean>,
  ): Promise<boolean | null> {
    const answers = await this.answers(entry, adapter, tasks);
    const now = new Date();
    const quiet: QuietCheck[] = [];
    const changed: WalkedTask[] = [];
    let moved = false;
    for (const row of tasks) {
      const answer = answers.get(row.id) as Answer;
      // No answer: the failing path needs the row (since when it fails); it does not hasten the walk.
      if ('retry' in answer) {
        changed.push(row);
        continue;
      }
      // Most tasks: the site says what was recorded, and nothing is to be written.
      if (row.sitePaced && reportedAsRecorded(row, answer.event, this.config)) continue;
      const u = quietWalkCheck(row, answer.event, now, this.config);
      if (u === null) {
        moved = true;
        changed.push(row);
        continue;
      }
      const remoteState = u.remoteState ?? row.remoteState;
      if (row.sitePaced && remoteState === row.remoteState) continue;
      moved = true;
      quiet.push({
        id: row.id,
        version: row.version,
        nextCheckAt: u.nextCheckAt ?? SITE_PACED_AT,
        trackIntervalMs: u.trackIntervalMs ?? null,
        remoteState,
      });
    }
    // Another replica may walk the site now: its answers are newer, and these rows are its to write.
    if ((quiet.length > 0 || changed.length > 0) && !(await stillOurs())) return null;
    // Rows changed or claimed since they were read are left out here: the next walk reads them anew.
    await this.trackedTasks.writeQuiet(null, quiet);
    const claimed = await this.trackedTasks.claimChanged(
      replica,
      this.config.leaseSeconds,
      changed.map(({ id, version }) => ({ id, version })),
    );
    await this.act(replica, entry, adapter, claimed, answers, new Map());
    return moved;
  }

  /**
   * A site asked once per task gets at most its request budget, shared by every replica; the rest wait for a
   * turn, one budget interval apart. While turns are handed out, the tasks asked now take the next ones too,
   * so every task gets its turn (round robin) however short the back-off.
   */
  private async withinBudget(
    replica: string,
    siteId: string,
    checks: Check[],
  ): Promise<{ asked: Check[]; notBefore: Map<string, Date> }> {
    const { granted, turns } = await this.budget.take(siteId, checks.length);
    const asked = checks.slice(0, granted);
    const deferred = checks.slice(granted);
    await this.leases.defer(
      replica,
      deferred.map(({ task }, i) => ({ id: task.id, at: turns[i] })),
    );
    const notBefore = new Map<string, Date>();
    asked.forEach(({ task }, i) => {
      const turn = turns[deferred.length + i];
      if (turn) notBefore.set(task.id, turn);
    });
    return { asked, notBefore };
  }

  /**
   * Asks the site about its claimed tasks in one status call, within its budget, and acts on the answers.
   * `due`: claimed because their check fell due, not because the site pushed news; on a pushing site (Pulsar
   * AMQP) those are the reconciliation, which sends a status request per silent job and so takes from the
   * budget, while pushed news is answered from what was heard and costs the site nothing.
   */
  private async checkSite(replica: string, reached: Reached, claimed: Check[], due = false): Promise<void> {
    if (claimed.length === 0) return;
    const { entry, adapter } = reached;
    if (!entry || !adapter) {
      for (const { task } of claimed) {
        await this.decide(
          replica,
          task,
          { kind: 'lost', reason: 'the site was removed from the registry' },
          { mode: 'per-task' },
        );
      }
      return;
    }
    const prepaid = adapter.statusMode === 'per-task' || (adapter.statusMode === 'pushed' && due);
    const { asked: checks, notBefore } = prepaid
      ? await this.withinBudget(replica, entry.adapterSite.id, claimed)
      : { asked: claimed, notBefore: new Map<string, Date>() };
    if (checks.length === 0) return;
    // Taken from the budget above for the whole call: the adapter must not take for it again. Pushed news goes
    // through the site's gate, which counts only the status requests the adapter really sends (a job whose last
    // news was `lost`, or one being cancelled).
    const site: AdapterSite = prepaid ? { ...entry.adapterSite, requestGate: undefined } : entry.adapterSite;
    await this.act(replica, entry, adapter, checks, await this.ask(entry, site, adapter, checks), notBefore);
  }

  /**
   * Acts on the site's answers about claimed tasks: the checks that found nothing new are written together,
   * the others one at a time under their row locks.
   */
  private async act(
    replica: string,
    entry: SiteAccess,
    adapter: SiteAdapter,
    checks: Check[],
    answers: Map<string, Answer>,
    notBefore: Map<string, Date>,
  ): Promise<void> {
    if (checks.length === 0) return;
    const now = new Date();
    const quiet: QuietCheck[] = [];
    const one: Array<{ task: DispatchTask; answer: Answer; pacing: Pacing }> = [];
    const failing: Check[] = [];
    const budgetWaits: { id: string; at: Date }[] = [];
    for (const { task, version } of checks) {
      const answer = answers.get(task.id) as Answer;
      const pacing = { mode: adapter.statusMode, notBefore: notBefore.get(task.id) };
      // Nothing was asked: the task is checked at the budget's turn, as a due check, with no failure counted.
      if ('retry' in answer && isBudgetWait(answer.retry)) {
        budgetWaits.push({ id: task.id, at: answer.retry.retryAt });
        continue;
      }
      if ('retry' in answer) {
        if (this.stillWaiting(entry, task, now)) failing.push({ task, version });
        else one.push({ task, answer, pacing });
        continue;
      }
      // The claim's copy of the row stands for it while its version holds (checked by the write).
      const outcome =
        version === undefined
          ? undefined
          : checkOutcome(task, task.remoteId, answer.event, pacing, now, this.config);
      if (outcome?.change.quiet && version !== undefined) {
        const u = outcome.change.update;
        quiet.push({
          id: task.id,
          version,
          nextCheckAt: u.nextCheckAt ?? now,
          trackIntervalMs: u.trackIntervalMs ?? null,
          remoteState: u.remoteState ?? null,
        });
      } else one.push({ task, answer, pacing });
    }
    await this.leases.defer(replica, budgetWaits);
    const written = await this.trackedTasks.writeQuiet(replica, quiet);
    const byId = new Map(checks.map(({ task }) => [task.id, task]));
    for (const q of quiet) {
      if (written.has(q.id)) continue;
      // Changed since the claim (a cancel request, a copy recorded): decided again from the row as it is now.
      one.push({
        task: byId.get(q.id) as DispatchTask,
        answer: answers.get(q.id) as Answer,
        pacing: { mode: adapter.statusMode, notBefore: notBefore.get(q.id) },
      });
    }
    await this.trackedTasks.releaseFailing(
      replica,
      failing.map(({ task }) => task.id),
      new Date(now.getTime() + retryDelayMs(this.config)),
      now,
    );
    const answered = one.filter(({ answer }) => 'event' in answer);
    let alone = one.filter(({ answer }) => !('event' in answer));
    try {
      const ended = await this.decideAll(
        replica,
        answered.map(({ task, answer, pacing }) => ({
          task,
          event: (answer as { event: AttemptEvent }).event,
          pacing,
        })),
      );
      for (const { task } of answered) if (ended.has(task.id)) await this.cleanup(entry, adapter, task);
    } catch (err) {
      // One task's bad row must not fail its site-mates: each is decided again on its own.
      this.logger.warn({ site: entry.adapterSite.slug, err: String(err) }, 'deciding tasks together failed');
      alone = one;
    }
    for (const { task, answer, pacing } of alone) {
      try {
        await this.follow(replica, entry, task, answer, adapter, pacing);
      } catch (err) {
        // One task's failure (a stored value of the wrong type, a lost database connection) must not leave
        // its site-mates in this claim unfollowed until their lease runs out; it is tried again next round.
        this.logger.error({ taskId: task.id, err }, 'tracking one task failed');
      }
    }
  }

  /** One status call about the claimed tasks; each task's answer (a site that failed answers `retry` for all). */
  private ask(
    entry: SiteAccess,
    site: AdapterSite,
    adapter: SiteAdapter,
    checks: Check[],
  ): Promise<Map<string, Answer>> {
    return this.answers(
      entry,
      adapter,
      checks.map(({ task }) => ({ id: task.id, remoteId: task.remoteId as string })),
      site,
    );
  }

  /** One status call about the tasks, by their copies at the site; each task's answer, by task id. */
  private async answers(
    entry: SiteAccess,
    adapter: SiteAdapter,
    tasks: readonly { id: string; remoteId: string }[],
    site: AdapterSite = entry.adapterSite,
  ): Promise<Map<string, Answer>> {
    const answers = new Map<string, Answer>();
    try {
      const statuses = await adapter.status(
        site,
        tasks.map((t) => t.remoteId),
      );
      for (const t of tasks) answers.set(t.id, this.answerFor(entry, t.remoteId, statuses));
    } catch (err) {
      const error = isAdapterError(err) ? err : new AdapterError('protocol_error', String(err).slice(0, 300));
      for (const t of tasks) answers.set(t.id, { retry: error });
      this.logger.warn(
        { site: entry.adapterSite.slug, kind: error.kind, err: error.message },
        'status check failed',
      );
    }
    return answers;
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
    if (await this.decide(replica, task, answer.event, pacing)) await this.cleanup(entry, adapter, task);
  }

  /**
   * The attempt is over at the site (finished, failed or lost): free what the site keeps for it, such as
   * a Pulsar job directory. Best effort: a site that keeps it anyway costs it disk, not us correctness.
   */
  private async cleanup(entry: SiteAccess, adapter: SiteAdapter, task: DispatchTask): Promise<void> {
    await adapter.cleanup(entry.adapterSite, task.remoteId as string).catch((err: unknown) => {
      this.logger.warn(
        { taskId: task.id, site: entry.adapterSite.slug, err: String(err).slice(0, 200) },
        'cleanup failed',
      );
    });
  }

  private answerFor(
    entry: SiteAccess,
    remoteId: string,
    statuses: Map<string, RemoteStatus | AdapterError>,
  ): Answer {
    const slug = entry.adapterSite.slug;
    const result = statuses.get(remoteId);
    if (result === undefined)
      return { retry: new AdapterError('protocol_error', `${slug} did not report on the task`) };
    if (!isAdapterError(result)) return { event: { kind: 'status', status: result } };
    if (result.kind === 'lost')
      return { event: { kind: 'lost', reason: `${slug} lost the task: ${result.message}` } };
    // One bad answer about one task is not a verdict on it: ask again, within the same bound as a dead site.
    return { retry: result };
  }

  /** Whether a task the site said nothing usable about waits for it: not when offline or failing too long. */
  private stillWaiting(entry: SiteAccess, task: DispatchTask, now: Date): boolean {
    return entry.health !== 'offline' && !failingTooLong(task.failingSince, now, this.config);
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
    if (this.stillWaiting(entry, task, now)) {
      await this.leases.releaseFailing(
        task.id,
        replica,
        new Date(now.getTime() + retryDelayMs(this.config)),
        now,
      );
      return;
    }
    const reason =
      entry.health === 'offline'
        ? `${slug} is offline (${error.message})`
        : `${slug} has not answered about the task for too long (${error.message})`;
    if (await this.decide(replica, task, { kind: 'site_offline', reason }, { mode: adapter.statusMode })) {
      // Frees what the broker keeps for the attempt (a Pulsar AMQP spool); the site itself may not answer.
      await adapter.cleanup(entry.adapterSite, task.remoteId as string).catch(() => undefined);
    }
  }

  /** Applies the decision to the row re-read under its lock; true when the attempt ended. */
  private async decide(
    replica: string,
    task: DispatchTask,
    event: AttemptEvent,
    pacing: Pacing,
  ): Promise<boolean> {
    return (await this.decideAll(replica, [{ task, event, pacing }])).has(task.id);
  }

  /**
   * Applies the decisions to the rows re-read under their locks, in one transaction (a walk that finds many
   * tasks finished writes them together); the ids whose attempt ended.
   */
  private async decideAll(
    replica: string,
    decisions: readonly { task: DispatchTask; event: AttemptEvent; pacing: Pacing }[],
  ): Promise<Set<string>> {
    const now = new Date();
    const byId = new Map(decisions.map((d) => [d.task.id, d]));
    const ended = new Map<string, string>();
    await this.decisions.withClaims(
      [...byId.keys()],
      replica,
      (fresh) => {
        const { task, event, pacing } = byId.get(fresh.id) as (typeof decisions)[number];
        const outcome = checkOutcome(fresh, task.remoteId, event, pacing, now, this.config);
        if (outcome.decision) this.metrics.decided(outcome.decision);
        if (outcome.ended) ended.set(fresh.id, outcome.ended);
        return outcome.change;
      },
      now,
    );
    for (const [id, how] of ended) this.logger.log({ taskId: id }, `task ${id} ${how}`);
    return new Set(ended.keys());
  }
}
