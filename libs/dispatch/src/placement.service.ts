import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ValidationFailedError } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import {
  Candidate,
  DEFAULT_COST_MODEL,
  type DemandEntry,
  fairShareOrder,
  Fingerprint,
  localDemandOf,
  mulberry32,
  place,
  Placement,
  PolicyContext,
  resolveResources,
  type RunningTask,
  SiteReservation,
  SubmitterSnapshot,
  taskFingerprint,
  TaskRequirement,
  updateReservations,
} from '@constellation/scheduler';
import {
  DispatchTask,
  PlacementWrite,
  TaskChangeRepository,
  TaskLoadRepository,
  validateTaskDocument,
  type TaskDocument,
  type TesTaskLog,
} from '@constellation/tes';
import { addSystemLog } from './attempt-log';
import { DispatchMetrics } from './dispatch.metrics';
import { DirectorySite, DispatchSites, withUsage } from './dispatch-sites';
import { EstimateStore } from './estimates/estimate.store';
import { LearnedEstimates } from './estimates/learned-estimates';
import { LocalityDemandStore } from './locality/locality-demand.store';
import { applyLocalityPrices, localityNotes, type LocalityNote } from './locality/locality-prices';
import { HeadSizeResolver } from './sizing/head-size-resolver';
import { learnedInput, sizableUrls, sizeInputs } from './sizing/input-sizes';
import { StorePrefixes, taskRequirement, withHomeStore } from './task-requirement';

export interface PlacementRound {
  placed: number;
  failed: number;
  waiting: number;
  /** False when another replica held the placement lock. */
  ran: boolean;
  /** Some submitter had more queued tasks than one pass takes, and this pass moved some: run another. */
  more: boolean;
}

/**
 * Most queued tasks of one submitter a pass considers (its oldest), so one submitter's backlog never hides
 * another's. Not a bound on a round: passes follow one another while a submitter has more (see `more`).
 */
const PER_SUBMITTER = 200;
/**
 * How long a read of the running tasks (for the queue-wait estimate's expected ends) serves placement passes:
 * it reads every running task, about a second at 135,000, while the ends it gives move by minutes. A
 * placement preview reads them afresh.
 */
const RUNNING_TASKS_MAX_AGE_MS = 5_000;

type RunningTasks = Map<string, RunningTask[]>;
/** The same while no site is approved: they can only wait, or expire (CONSTELLATION_MAX_QUEUE_SECONDS). */
const IDLE_PER_SUBMITTER = 10;

/**
 * Why `task` cannot be placed when computing its placement threw `err`: its stored document, written outside
 * the broker (by hand, by a tool, by an older release), is not a task the API would accept, and it fails
 * alone rather than roll back every other task's placement, round after round. When the validator accepts
 * the document, the fault is the broker's own: `err` is thrown on and the round fails, as it should.
 */
function unreadable(task: DispatchTask, err: unknown): Placement {
  try {
    validateTaskDocument(task.hasInlineContent ? withContentStandIns(task.document) : task.document);
  } catch (invalid) {
    const problems =
      invalid instanceof ValidationFailedError
        ? invalid.errors.map((e) => `${e.path || '(document)'} ${e.reason}`).join('; ')
        : String(invalid);
    return {
      decision: 'infeasible',
      reason: `its stored document is not a valid task: ${problems}`,
      candidates: [],
    };
  }
  throw err;
}

/**
 * The document as the validator expects it: an input whose content is stored apart (placement never reads
 * contents) stands in with a one-character content, which passes the same checks as the real one did.
 */
function withContentStandIns(document: TaskDocument): TaskDocument {
  if (!Array.isArray(document.inputs)) return document;
  return {
    ...document,
    inputs: document.inputs.map((i) =>
      i.url === undefined && i.content === undefined ? { ...i, content: '-' } : i,
    ),
  };
}

/** Whether some submitter had more queued tasks than a pass reads (`queued` holds its first `perPass`). */
function someSubmitterHasMore(queued: readonly DispatchTask[], perPass: number): boolean {
  const counts = new Map<string, number>();
  for (const t of queued) {
    const n = (counts.get(t.submitterId) ?? 0) + 1;
    if (n >= perPass) return true;
    counts.set(t.submitterId, n);
  }
  return false;
}

/** The task's tool fingerprint; a document too broken to have executors has none. */
function fingerprintOf(task: DispatchTask): Fingerprint | undefined {
  const executors: unknown = task.document?.executors;
  return Array.isArray(executors) ? taskFingerprint(executors) : undefined;
}

/** The task's requirement, or what computing it threw (see unreadable). */
function requirementOrError(
  task: DispatchTask,
  stores: StorePrefixes[],
  homeStoreId?: string | null,
): TaskRequirement | Error {
  try {
    const requirement = taskRequirement(task, stores);
    withHomeStore(
      requirement,
      stores.find((s) => s.id === homeStoreId),
    );
    return requirement;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The requirements that could be computed. */
function readable(requirements: Iterable<TaskRequirement | Error>): TaskRequirement[] {
  return [...requirements].filter((r): r is TaskRequirement => !(r instanceof Error));
}

/** What GET /api/v1/tasks/{id}/placement serves: the decision and every candidate with its terms. */
export interface PlacementRecord {
  policy: string;
  decided_at: string;
  attempt: number;
  decision: Placement['decision'];
  site_id?: string;
  site?: string;
  reason?: string;
  /** The chosen site's run-time term: later rounds' queue-wait estimates read it without the candidates. */
  expected_run_s?: number;
  /** With CONSTELLATION_LOCALITY_PRICE: the priced sites the task could use, and whether it earns each. */
  locality_prices?: LocalityNote[];
  candidates: Candidate[];
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function summary(placement: Placement, slug: string | undefined): string {
  const chosen = placement.candidates.find((c) => c.siteId === placement.siteId);
  if (!chosen || !slug) return placement.reason ?? placement.decision;
  return (
    `placed on ${slug}: estimated completion ${round1(chosen.totalS)} s ` +
    `(queue ${round1(chosen.queueWaitS)} s, transfer ${round1(chosen.transferS)} s, run ${round1(chosen.runS)} s` +
    (chosen.sources ? `: ${chosen.sources.runS})` : ')') +
    ` among ${placement.candidates.filter((c) => c.placeable).length} placeable site(s)`
  );
}

/**
 * Places queued tasks: one replica at a time (advisory lock), oldest first in fair-share order, each against
 * the snapshot updated by the placements before it in the same round.
 */
@Injectable()
export class PlacementService {
  private readonly logger = new Logger('dispatch');
  private readonly context: PolicyContext = { prng: mulberry32(Date.now() >>> 0) };
  private running: { readAt: number; tasks: Promise<RunningTasks> } | null = null;
  /**
   * Sites reserved by waiting tasks (backfill), carried from one round to the next. Soft state: a replica
   * that takes over placement starts without them, and a task whose hold runs out reserves again.
   */
  private reservations = new Map<string, SiteReservation>();

  constructor(
    private readonly load: TaskLoadRepository,
    private readonly changes: TaskChangeRepository,
    private readonly directory: DispatchSites,
    private readonly metrics: DispatchMetrics,
    private readonly estimates: EstimateStore,
    private readonly sizes: HeadSizeResolver,
    private readonly locality: LocalityDemandStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Loads what the broker learned for these tasks and puts it into the snapshots and requirements: input
   * sizes (HEAD, else the tool's learned median input, else the default), site speeds, throughput and
   * medians, each task's expected run time (which depends on the sizes, so they come first).
   */
  private async learned(
    m: EntityManager,
    tasks: readonly DispatchTask[],
    requirements: ReadonlyMap<string, TaskRequirement | Error>,
    sites: readonly DirectorySite[],
    now: Date,
  ): Promise<{ learned: LearnedEstimates; fingerprints: Map<string, Fingerprint | undefined> }> {
    const fingerprints = new Map(tasks.map((t) => [t.id, fingerprintOf(t)]));
    const keys = [...fingerprints.values()].flatMap((f) => (f ? [f.key] : []));
    const learned = new LearnedEstimates(await this.estimates.estimatorFor(keys, m), now.getTime() / 1000);
    const snapshots = sites.map((s) => s.snapshot);
    learned.applyToSites(snapshots);
    const pricing = this.config.localityPrice;
    if (pricing !== null) {
      const since = new Date(now.getTime() - pricing.windowSeconds * 1000);
      applyLocalityPrices(
        snapshots,
        await this.locality.window(m, since),
        now.getTime() / 1000,
        pricing.windowSeconds,
      );
    }
    const estimator = learned.estimator;
    for (const [id, requirement] of requirements) {
      if (requirement instanceof Error) continue;
      const fingerprint = fingerprints.get(id);
      sizeInputs(
        requirement,
        (url) => this.sizes.known(url),
        learnedInput(estimator, fingerprint, now.getTime() / 1000),
      );
      learned.applyToTask(requirement, fingerprint, snapshots);
    }
    return { learned, fingerprints };
  }

  async placeQueued(at?: Date): Promise<PlacementRound> {
    // Sites and their schemes are read before the lock: a slow site must not hold every replica's placement.
    const [sites, stores] = await Promise.all([this.directory.approvedSites(), this.directory.dataStores()]);
    const result = await this.load.underPlacementLock(async (m) => {
      // With no site to place on, only the oldest tasks matter: those that may have waited too long.
      const queued = await this.load.queuedTasks(m, sites.length === 0 ? IDLE_PER_SUBMITTER : PER_SUBMITTER);
      // Read after the lock: a task accepted while the round waited must not be placed before it was queued.
      const now = at ?? new Date();
      const round: PlacementRound = { placed: 0, failed: 0, waiting: 0, ran: true, more: false };
      if (queued.length === 0) return round;
      withUsage(sites, await this.load.siteUsage(m), await this.runningTasks(m));
      this.restoreReservations(sites, new Set(queued.map((t) => t.id)));
      const accounts = await this.load.submitters(m, [...new Set(queued.map((t) => t.submitterId))]);
      const submitters = new Map<string, SubmitterSnapshot>(accounts.map((a) => [a.id, { ...a }]));
      const byId = new Map(queued.map((t) => [t.id, t]));
      const homes = new Map(accounts.map((a) => [a.id, a.homeDataStoreId]));
      const requirements = new Map(
        queued.map((t) => [t.id, requirementOrError(t, stores, homes.get(t.submitterId))]),
      );
      // Sizes asked for when the task was first seen are known by now; new ones get at most the budget.
      await this.sizes.settle(
        sizableUrls(readable(requirements.values()), stores),
        this.config.sizeBudgetSeconds * 1000,
      );
      const { learned, fingerprints } = await this.learned(m, queued, requirements, sites, now);
      const order = fairShareOrder(
        queued.map((t) => {
          const requirement = requirements.get(t.id);
          const queuedAt = t.queuedAt.getTime() / 1000;
          const expected = requirement instanceof Error ? undefined : requirement?.expectedRunS;
          // A short task is due sooner, so it may overtake long ones queued before it (docs/scheduling.md).
          const dueAt = queuedAt + (expected ?? DEFAULT_COST_MODEL.defaultRunS);
          return { taskId: t.id, submitterId: t.submitterId, queuedAt, dueAt };
        }),
        accounts,
      );
      // Placements are written together after the pass; the snapshots count them as they are decided.
      const placing: { write: PlacementWrite; slug: string }[] = [];
      const demand = new Map<string, DemandEntry[]>();
      for (const id of [...order.order, ...order.held]) {
        const task = byId.get(id) as DispatchTask;
        const submitter = submitters.get(task.submitterId) ?? {
          id: task.submitterId,
          allowedSiteIds: [],
          quota: 0,
          weight: 0,
          running: 0,
        };
        const requirement = requirements.get(id) as TaskRequirement | Error;
        const placement =
          requirement instanceof Error
            ? unreadable(task, requirement)
            : this.placeOne(now, sites, stores, requirement, submitter, task);
        if (!(requirement instanceof Error)) {
          learned.explain(placement.candidates, requirement, fingerprints.get(id));
        }
        updateReservations(
          sites.map((s) => s.snapshot),
          id,
          placement,
        );
        if (placement.decision === 'place') {
          placing.push(this.placementWrite(task, placement, sites, now, requirement as TaskRequirement));
          // A task's first placement only: a failover or a take-back places the same work again.
          if (this.config.localityPrice !== null && task.attempt === 0) {
            demand.set(
              id,
              localDemandOf(
                requirement as TaskRequirement,
                placement.candidates,
                sites.map((s) => s.snapshot),
              ),
            );
          }
          this.reserve(sites, placement.siteId as string, requirement as TaskRequirement);
          submitter.running++;
          continue;
        }
        round[await this.applyUnplaced(m, task, placement, sites, now, requirement)]++;
      }
      const written = await this.changes.writePlacements(
        m,
        placing.map((p) => p.write),
        now,
      );
      if (this.config.localityPrice !== null) {
        await this.locality.record(
          m,
          now,
          [...demand].flatMap(([id, entries]) => (written.has(id) ? entries : [])),
        );
        await this.locality.prune(
          m,
          new Date(now.getTime() - this.config.localityPrice.windowSeconds * 1000),
        );
      }
      for (const { write, slug } of placing) {
        // Cancelled while the pass ran: the cancel stands, and the slot it had counted goes unused this pass.
        if (!written.has(write.id)) {
          round.waiting++;
          continue;
        }
        round.placed++;
        this.logger.log({ taskId: write.id, site: slug, attempt: write.attempt }, write.reason);
        this.metrics.placements.inc({ decision: 'placed' });
      }
      this.keepReservations(sites);
      round.more = round.placed + round.failed > 0 && someSubmitterHasMore(queued, PER_SUBMITTER);
      return round;
    });
    return result ?? { placed: 0, failed: 0, waiting: 0, ran: false, more: false };
  }

  /** Puts the reservations (of the tasks still queued, when given) into the snapshots, one per site. */
  private restoreReservations(sites: readonly DirectorySite[], queued?: ReadonlySet<string>): void {
    for (const site of sites) {
      const r = this.reservations.get(site.snapshot.id);
      if (r !== undefined && (queued === undefined || queued.has(r.taskId)))
        site.snapshot.load.reservation = r;
    }
  }

  private keepReservations(sites: readonly DirectorySite[]): void {
    this.reservations = new Map(
      sites.flatMap((s) =>
        s.snapshot.load.reservation ? [[s.snapshot.id, s.snapshot.load.reservation]] : [],
      ),
    );
  }

  /**
   * Places one task. Sites excluded after earlier attempts are only a preference: when no other site could
   * ever run the task, it may go back to one of them (the attempt limit still bounds the retries), rather
   * than fail for want of a site after one short outage. A stored document the policy's checks trip over
   * makes the task infeasible when it is not a valid task (see unreadable).
   */
  private placeOne(
    now: Date,
    sites: DirectorySite[],
    stores: StorePrefixes[],
    requirement: TaskRequirement,
    submitter: SubmitterSnapshot,
    task: DispatchTask,
    context: PolicyContext = this.context,
  ): Placement {
    const request = {
      now: now.getTime() / 1000,
      sites: sites.map((s) => s.snapshot),
      dataStores: stores,
      task: requirement,
      submitter,
    };
    const options = { policy: this.config.policy, context };
    try {
      const placement = place(request, options);
      if (placement.decision !== 'infeasible' || (requirement.excludedSiteIds ?? []).length === 0)
        return placement;
      const again = place({ ...request, task: { ...requirement, excludedSiteIds: [] } }, options);
      return again.decision === 'infeasible' ? placement : again;
    } catch (err) {
      return unreadable(task, err);
    }
  }

  /** The running tasks by site, read afresh once the last read is RUNNING_TASKS_MAX_AGE_MS old. */
  private runningTasks(m: EntityManager): Promise<RunningTasks> {
    const now = Date.now();
    if (this.running === null || now - this.running.readAt > RUNNING_TASKS_MAX_AGE_MS) {
      const tasks = this.load.runningTasks(m);
      const read = { readAt: now, tasks };
      // A failed read is not kept: the next pass reads again.
      tasks.catch(() => {
        if (this.running === read) this.running = null;
      });
      this.running = read;
    }
    return this.running.tasks;
  }

  /**
   * What a preview or a take-back places one task against, outside a round: the sites with their usage and
   * the running tasks read afresh (one task's look is rare, and should see a task that started a moment
   * ago), the reservations, the task's requirement and what was learned for it. Sizes never waited for: the
   * lookups a later round will use are started.
   */
  private async oneTaskSnapshot(task: DispatchTask, now: Date) {
    const [sites, stores] = await Promise.all([this.directory.approvedSites(), this.directory.dataStores()]);
    const [usage, running, accounts] = await Promise.all([
      this.load.siteUsage(this.load.manager()),
      this.load.runningTasks(this.load.manager()),
      this.load.submitters(this.load.manager(), [task.submitterId]),
    ]);
    withUsage(sites, usage, running);
    this.restoreReservations(sites);
    const submitter: SubmitterSnapshot = accounts[0] ?? {
      id: task.submitterId,
      allowedSiteIds: [],
      quota: 0,
      weight: 0,
      running: 0,
    };
    const requirement = requirementOrError(task, stores, accounts[0]?.homeDataStoreId);
    this.sizes.request(sizableUrls(readable([requirement]), stores));
    const { learned, fingerprints } = await this.learned(
      this.load.manager(),
      [task],
      new Map([[task.id, requirement]]),
      sites,
      now,
    );
    return { sites, stores, requirement, submitter, learned, fingerprint: fingerprints.get(task.id) };
  }

  /**
   * Where a queued task would go if it were placed now, and why: the same computation as a round, without
   * the lock and without writing anything.
   */
  async preview(task: DispatchTask, now: Date = new Date()): Promise<PlacementRecord> {
    const { sites, stores, requirement, submitter, learned, fingerprint } = await this.oneTaskSnapshot(
      task,
      now,
    );
    // A preview must not move round-robin's or random's state.
    const placement =
      requirement instanceof Error
        ? unreadable(task, requirement)
        : this.placeOne(now, sites, stores, requirement, submitter, task, { prng: mulberry32(0) });
    if (!(requirement instanceof Error)) learned.explain(placement.candidates, requirement, fingerprint);
    const record: PlacementRecord = {
      policy: this.config.policy,
      decided_at: now.toISOString(),
      attempt: task.attempt + 1,
      decision: placement.decision,
      candidates: placement.candidates,
    };
    if (placement.siteId) {
      record.site_id = placement.siteId;
      record.site = sites.find((s) => s.snapshot.id === placement.siteId)?.snapshot.slug;
    }
    if (placement.reason) record.reason = placement.reason;
    this.noteLocality(record, requirement, placement, sites);
    return record;
  }

  /** The priced sites the task could use, when the locality price is on and some site has one. */
  private noteLocality(
    record: PlacementRecord,
    requirement: TaskRequirement | Error,
    placement: Placement,
    sites: readonly DirectorySite[],
  ): void {
    if (this.config.localityPrice === null || requirement instanceof Error) return;
    const notes = localityNotes(
      requirement,
      placement.candidates,
      sites.map((s) => s.snapshot),
    );
    if (notes.length > 0) record.locality_prices = notes;
  }

  /**
   * Where a task committed to its site (still queued there) would go if it left: placed as a round would,
   * against the sites with the task's own claim taken off its site, without the lock and writing nothing.
   * The slugs of the sites, for the take-back's note. Undefined when the task's document cannot be read.
   */
  async placeAsIfLeft(
    task: DispatchTask,
    now: Date = new Date(),
  ): Promise<{ placement: Placement; slugs: Map<string, string> } | undefined> {
    const { sites, stores, requirement, submitter } = await this.oneTaskSnapshot(task, now);
    if (requirement instanceof Error) return undefined;
    const own = sites.find((s) => s.snapshot.id === task.siteId);
    if (own) this.reserve([own], own.snapshot.id, requirement, -1);
    // The submitter's running count includes this task; placed again, it would not.
    const free = { ...submitter, running: Math.max(0, submitter.running - 1) };
    const placement = this.placeOne(now, sites, stores, requirement, free, task, { prng: mulberry32(0) });
    return { placement, slugs: new Map(sites.map((s) => [s.snapshot.id, s.snapshot.slug])) };
  }

  /**
   * Counts a placement against the site in the round's snapshot, so the next task sees it; `sign` -1 takes a
   * task's claim off its site (a take-back judges the task as if it had left).
   */
  private reserve(
    sites: DirectorySite[],
    siteId: string,
    requirement: TaskRequirement,
    sign: 1 | -1 = 1,
  ): void {
    const site = sites.find((s) => s.snapshot.id === siteId);
    if (!site) return;
    const r = resolveResources(requirement);
    const load = site.snapshot.load;
    load.queued = Math.max(0, load.queued + sign);
    const claimed = load.claimed ?? { cores: 0, memoryGib: 0, gpus: 0 };
    load.claimed = {
      cores: Math.max(0, claimed.cores + sign * r.cores),
      memoryGib: Math.max(0, claimed.memoryGib + sign * r.memoryGib),
      gpus: Math.max(0, claimed.gpus + sign * r.gpus),
    };
  }

  private record(
    task: DispatchTask,
    placement: Placement,
    slug: string | undefined,
    now: Date,
  ): PlacementRecord {
    const record: PlacementRecord = {
      policy: this.config.policy,
      decided_at: now.toISOString(),
      attempt: task.attempt + 1,
      decision: placement.decision,
      candidates: placement.candidates,
    };
    if (placement.siteId) record.site_id = placement.siteId;
    if (slug) record.site = slug;
    if (placement.reason) record.reason = placement.reason;
    const chosen = placement.candidates.find((c) => c.siteId === placement.siteId);
    if (placement.decision === 'place' && chosen !== undefined) record.expected_run_s = chosen.runS;
    return record;
  }

  /** What placing the task on its chosen site writes: the new attempt, its log entry and its record. */
  private placementWrite(
    task: DispatchTask,
    placement: Placement,
    sites: DirectorySite[],
    now: Date,
    requirement: TaskRequirement,
  ): { write: PlacementWrite; slug: string } {
    const slug = sites.find((s) => s.snapshot.id === placement.siteId)?.snapshot.slug as string;
    const attempt = task.attempt + 1;
    const message = summary(placement, slug);
    const record = this.record(task, placement, slug, now);
    this.noteLocality(record, requirement, placement, sites);
    const log: TesTaskLog = {
      logs: [],
      outputs: [],
      metadata: { site: slug, site_id: placement.siteId as string, attempt: String(attempt) },
      system_logs: [message],
    };
    return {
      slug,
      write: {
        id: task.id,
        siteId: placement.siteId as string,
        attempt,
        placement: record as unknown as Record<string, unknown>,
        logs: [...task.logs, log],
        reason: message,
      },
    };
  }

  /** A task not placed: it waits, or fails when it never can run or has waited too long. */
  private async applyUnplaced(
    m: EntityManager,
    task: DispatchTask,
    placement: Placement,
    sites: DirectorySite[],
    now: Date,
    requirement: TaskRequirement | Error,
  ): Promise<'failed' | 'waiting'> {
    const slug = sites.find((s) => s.snapshot.id === placement.siteId)?.snapshot.slug;
    const record = this.record(task, placement, slug, now);
    const waitedS = (now.getTime() - task.queuedAt.getTime()) / 1000;
    let reason: string | undefined;
    if (placement.decision === 'infeasible') reason = placement.reason as string;
    else if (waitedS > this.config.maxQueueSeconds) {
      reason =
        `waited ${Math.round(waitedS)} s for a site (CONSTELLATION_MAX_QUEUE_SECONDS=${this.config.maxQueueSeconds}); ` +
        `last: ${placement.reason ?? 'no site could take it'}`;
    }
    if (reason === undefined) return 'waiting';
    this.noteLocality(record, requirement, placement, sites);
    // The reason joins the last attempt's entry; a task that never ran gets one entry for it.
    const logs: TesTaskLog[] =
      task.logs.length === 0
        ? [{ logs: [], outputs: [], system_logs: [reason], end_time: now.toISOString() }]
        : [...task.logs.slice(0, -1), addSystemLog(task.logs[task.logs.length - 1], reason)];
    const written = await this.changes.writeIfQueued(
      m,
      task.id,
      {
        state: 'SYSTEM_ERROR',
        placement: record as unknown as Record<string, unknown>,
        logs,
        nextCheckAt: null,
      },
      now,
    );
    if (!written) return 'waiting';
    await this.changes.event(
      m,
      task.id,
      { from: 'QUEUED', to: 'SYSTEM_ERROR', siteId: null, attempt: task.attempt, reason },
      now,
    );
    this.logger.warn({ taskId: task.id }, `task ${task.id} cannot run: ${reason}`);
    this.metrics.placements.inc({ decision: placement.decision === 'infeasible' ? 'infeasible' : 'expired' });
    this.metrics.finished.inc({ state: 'SYSTEM_ERROR' });
    return 'failed';
  }
}
