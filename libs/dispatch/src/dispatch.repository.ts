import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import { InputContent, withInlineContent } from '@constellation/tes';
import type { TaskDocument, TaskEventKind, TesState, TesTaskLog } from '@constellation/tes';
import type { RunningTask } from '@constellation/scheduler';
import { addSystemLog, withAttemptLog } from './attempt-log';
import { CompletionLearning, LearnedCompletion } from './estimates/completion-learning';
import { ClaimedUpdate, insertTaskEvents, writeClaimedUpdates } from './task-change-writes';

/** Key of the transaction-level advisory lock under which one replica at a time places queued tasks. */
export const PLACEMENT_LOCK_KEY = 4_171_190_002;

/** A task as the dispatch loops read it. */
export interface DispatchTask {
  id: string;
  submitterId: string;
  state: TesState;
  /**
   * The TES document without `inputs[].content`, which is stored apart (task_input_content) and read only
   * when the task is sent to its site: a claim for submission puts it back.
   */
  document: TaskDocument;
  /** Whether some input's content is stored apart (such an input has neither url nor content here). */
  hasInlineContent: boolean;
  createdAt: Date;
  queuedAt: Date;
  attempt: number;
  siteId: string | null;
  remoteId: string | null;
  claimedBy: string | null;
  excludedSiteIds: string[];
  preemptions: number;
  logs: TesTaskLog[];
  /** Since when the site has failed to answer about this task; null while it answers. */
  failingSince: Date | null;
  /** When a submission of this attempt went out without an answer; null when none is in doubt. */
  submitDoubtAt: Date | null;
  /**
   * Not null while the site has finished the attempt and the broker delivers its outputs: the failed delivery
   * tries so far. Such a task is the delivery step's, never tracking's.
   */
  deliveryTries: number | null;
  /** Tracking's current back-off between two status checks; null before the first. */
  trackIntervalMs: number | null;
  /** The state the site last reported for this attempt; null before the first report. */
  remoteState: TesState | null;
}

/** Work a replica claims with a lease: each phase is a state plus a condition on the remote id. */
export type Phase = 'submit' | 'track' | 'deliver' | 'cancel';

export const PHASE_FILTER: Record<Phase, string> = {
  submit: `state = 'INITIALIZING' AND remote_id IS NULL AND site_id IS NOT NULL`,
  track: `state IN ('INITIALIZING', 'RUNNING') AND remote_id IS NOT NULL AND delivery_tries IS NULL`,
  deliver: `state = 'RUNNING' AND remote_id IS NOT NULL AND delivery_tries IS NOT NULL`,
  cancel: `state = 'CANCELING' AND site_id IS NOT NULL`,
};

export const COLUMNS = `id, submitter_id, state, document, content_bytes > 0 AS has_inline_content, created_at,
  COALESCE(queued_at, created_at) AS queued_at, current_attempt, site_id, remote_id, claimed_by, excluded_site_ids,
  preemptions, logs, failing_since, submit_doubt_at, delivery_tries, track_interval_ms, remote_state`;

export interface Row {
  id: string;
  submitter_id: string;
  state: TesState;
  document: TaskDocument;
  has_inline_content: boolean;
  created_at: Date;
  queued_at: Date;
  current_attempt: number;
  site_id: string | null;
  remote_id: string | null;
  claimed_by: string | null;
  excluded_site_ids: string[];
  preemptions: number;
  logs: TesTaskLog[];
  failing_since: Date | null;
  submit_doubt_at: Date | null;
  delivery_tries: number | null;
  track_interval_ms: number | null;
  remote_state: TesState | null;
}

/**
 * The broker stores every list of a task, empty or not; a row written another way (by hand, by a tool that
 * inserts into `task`) may leave out the lists TES itself makes optional, which every reader expects.
 */
function withEmptyLists(document: TaskDocument): TaskDocument {
  // Anything but an object is left for placement to fail as unreadable.
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const lists = document as Partial<TaskDocument>;
  return {
    ...document,
    inputs: lists.inputs ?? [],
    outputs: lists.outputs ?? [],
    volumes: lists.volumes ?? [],
    tags: lists.tags ?? {},
  };
}

export function toTask(r: Row): DispatchTask {
  return {
    id: r.id,
    submitterId: r.submitter_id,
    state: r.state,
    document: withEmptyLists(r.document),
    hasInlineContent: r.has_inline_content,
    createdAt: r.created_at,
    queuedAt: r.queued_at,
    attempt: r.current_attempt,
    siteId: r.site_id,
    remoteId: r.remote_id,
    claimedBy: r.claimed_by,
    excludedSiteIds: r.excluded_site_ids,
    preemptions: r.preemptions,
    logs: r.logs,
    failingSince: r.failing_since,
    submitDoubtAt: r.submit_doubt_at,
    deliveryTries: r.delivery_tries,
    trackIntervalMs: r.track_interval_ms,
    remoteState: r.remote_state,
  };
}

/** Columns a dispatch step may change; `undefined` leaves a column as it is. */
export interface TaskUpdate {
  state?: TesState;
  siteId?: string | null;
  remoteId?: string | null;
  attempt?: number;
  placement?: Record<string, unknown>;
  logs?: TesTaskLog[];
  excludedSiteIds?: string[];
  preemptions?: number;
  queuedAt?: Date;
  nextCheckAt?: Date | null;
  failingSince?: Date | null;
  submitDoubtAt?: Date | null;
  deliveryTries?: number | null;
  trackIntervalMs?: number | null;
  remoteState?: TesState | null;
}

export interface TaskEventNote {
  from: TesState;
  to: TesState;
  siteId: string | null;
  attempt: number;
  reason: string;
}

/** A queued task placed on a site, as one pass of placement writes it with the others. */
export interface PlacementWrite {
  id: string;
  siteId: string;
  attempt: number;
  placement: Record<string, unknown>;
  logs: TesTaskLog[];
  /** The QUEUED → INITIALIZING event's reason. */
  reason: string;
}

/** A copy the task leaves behind at a site, to be stopped there once the site answers (AbandonedCopyEntity). */
export interface AbandonNote {
  siteId: string;
  attempt: number;
  /** null: whatever copies of the attempt the site may have made (a submission whose answer never came). */
  remoteId: string | null;
  reason: string;
  /** When to look first (default: at once). */
  dueAt?: Date;
}

/** An update, the event it records and the copy it abandons, as one dispatch step decides them. */
export interface TaskChange {
  update: TaskUpdate;
  event?: TaskEventNote;
  abandon?: AbandonNote;
}

/** A change to a claimed task; `quiet`: nothing the API shows changed (no new version, no event). */
export type ClaimedChange = TaskChange & { quiet?: boolean };

/**
 * What a site's answer to a submission writes on its task: the site's id for the attempt, the attempt's log
 * naming it, and the first check; the site's state and any failure or doubt are cleared.
 */
export interface SubmissionAnswer {
  remoteId: string;
  logs: TesTaskLog[];
  nextCheckAt: Date;
  /** Left as it is when absent. */
  trackIntervalMs?: number;
  /** A copy the attempt may have left at the site, to look for later. */
  abandon?: AbandonNote;
}

/** Load the broker's own unfinished tasks put on one site (what placement adds to as it places). */
export interface SiteUsage {
  siteId: string;
  running: number;
  queued: number;
  cores: number;
  memoryGib: number;
  gpus: number;
}

export interface SubmitterUsage {
  id: string;
  allowedSiteIds: string[];
  quota: number | null;
  weight: number;
  running: number;
  /** Where the submitter's data lives, if an admin said so. */
  homeDataStoreId: string | null;
}

const GIB_PER_GB = 1e9 / 2 ** 30;

/** The SQL behind placement, submission, tracking and cancellation. */
@Injectable()
export class DispatchRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly learning: CompletionLearning,
  ) {}

  /** The plain (non-transactional) manager, for reads outside any round. */
  manager(): EntityManager {
    return this.db.manager;
  }

  /** One task as dispatch sees it, or null. */
  async find(id: string): Promise<(DispatchTask & { placement: Record<string, unknown> | null }) | null> {
    const rows: (Row & { placement: Record<string, unknown> | null })[] = await this.db.query(
      `SELECT ${COLUMNS}, placement FROM task WHERE id = $1`,
      [id],
    );
    return rows.length === 0 ? null : { ...toTask(rows[0]), placement: rows[0].placement };
  }

  /**
   * Runs `fn` in one transaction holding the placement lock, so two replicas never fill the same free slot;
   * resolves to null when another replica holds it.
   */
  async underPlacementLock<T>(fn: (m: EntityManager) => Promise<T>): Promise<T | null> {
    return this.db.transaction(async (m) => {
      const [{ locked }]: { locked: boolean }[] = await m.query(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
        [PLACEMENT_LOCK_KEY],
      );
      return locked ? fn(m) : null;
    });
  }

  /**
   * The oldest queued tasks of every submitter (at most `perSubmitter` each, so one submitter's backlog never
   * hides another's). Read without row locks: most of them only wait, and locking hundreds of rows every
   * second would write each one. The placement lock keeps other placers out; a cancel that lands meanwhile
   * is caught by the state check of each write (writeIfQueued).
   */
  async queuedTasks(m: EntityManager, perSubmitter: number): Promise<DispatchTask[]> {
    // Served by task_submitter_id_state_id_idx: one short index range per principal.
    const rows: Row[] = await m.query(
      `SELECT q.* FROM principal p
       CROSS JOIN LATERAL (
         SELECT ${COLUMNS} FROM task t
         WHERE t.submitter_id = p.id AND t.state = 'QUEUED' ORDER BY t.id LIMIT $1
       ) q
       ORDER BY q.id`,
      [perSubmitter],
    );
    return rows.map(toTask);
  }

  /** Writes a placement decision if the task is still QUEUED; false when a cancel got there first. */
  async writeIfQueued(m: EntityManager, id: string, u: TaskUpdate, now: Date): Promise<boolean> {
    return this.write(m, id, u, now, true, 'QUEUED');
  }

  /**
   * Writes a pass's placements and their events in one statement, each only if its task is still QUEUED (a
   * cancel may have got there first): one round trip for the pass rather than two per task. The ids written.
   */
  async writePlacements(
    m: EntityManager,
    placed: readonly PlacementWrite[],
    now: Date,
  ): Promise<Set<string>> {
    if (placed.length === 0) return new Set();
    const rows: { task_id: string }[] = await m.query(
      `WITH placed AS (
         UPDATE task t SET state = 'INITIALIZING', site_id = p.site_id, remote_id = NULL,
                current_attempt = p.attempt, placement = p.placement, logs = p.logs, next_check_at = $1,
                updated_at = $1, version = t.version + 1, claimed_by = NULL, lease_until = NULL
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::integer[], $6::jsonb[], $7::jsonb[], $8::text[])
           AS p(id, event_id, site_id, attempt, placement, logs, reason)
         WHERE t.id = p.id AND t.state = 'QUEUED'
         RETURNING t.id, p.event_id, p.site_id, p.attempt, p.reason)
       INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
       SELECT event_id, id, $1, 'QUEUED', 'INITIALIZING', site_id, attempt, reason, 'state' FROM placed
       RETURNING task_id`,
      [
        now,
        placed.map((p) => p.id),
        placed.map(() => newId()),
        placed.map((p) => p.siteId),
        placed.map((p) => p.attempt),
        placed.map((p) => JSON.stringify(p.placement)),
        placed.map((p) => JSON.stringify(p.logs)),
        placed.map((p) => p.reason.slice(0, 2000)),
      ],
    );
    return new Set(rows.map((r) => r.task_id));
  }

  /** Per site, the broker's unfinished tasks there and the resources they asked for (TES units → GiB). */
  async siteUsage(m: EntityManager): Promise<SiteUsage[]> {
    const rows: {
      site_id: string;
      running: number;
      queued: number;
      cores: number;
      memory_gib: number;
      gpus: number;
    }[] = await m.query(
      `SELECT site_id,
              count(*) FILTER (WHERE state IN ('RUNNING', 'CANCELING'))::integer AS running,
              count(*) FILTER (WHERE state = 'INITIALIZING')::integer AS queued,
              sum(COALESCE((document #>> '{resources,cpu_cores}')::float8, 1))::float8 AS cores,
              sum(COALESCE((document #>> '{resources,ram_gb}')::float8 * $1,
                           COALESCE((document #>> '{resources,cpu_cores}')::float8, 1) * 3.8))::float8 AS memory_gib,
              sum(COALESCE((document #>> '{resources,backend_parameters,constellation.gpus}')::float8, 0))::float8
                AS gpus
       FROM task
       WHERE state IN ('INITIALIZING', 'RUNNING', 'CANCELING') AND site_id IS NOT NULL
       GROUP BY site_id`,
      [GIB_PER_GB],
    );
    return rows.map((r) => ({
      siteId: r.site_id,
      running: r.running,
      queued: r.queued,
      cores: r.cores,
      memoryGib: r.memory_gib,
      gpus: r.gpus,
    }));
  }

  /**
   * The broker's running tasks per site with the start of their current attempt and the run time placement
   * expected at that site (from the stored placement record): queue-wait estimates floor on their ends.
   * A task whose start or estimate is not recorded is left out (its claim still counts in `siteUsage`).
   */
  async runningTasks(m: EntityManager): Promise<Map<string, RunningTask[]>> {
    const rows: {
      site_id: string;
      cores: number;
      memory_gib: number;
      started_at: Date | null;
      expected_run_s: number | null;
    }[] = await m.query(
      `SELECT t.site_id,
              COALESCE((t.document #>> '{resources,cpu_cores}')::float8, 1) AS cores,
              COALESCE((t.document #>> '{resources,ram_gb}')::float8 * $1,
                       COALESCE((t.document #>> '{resources,cpu_cores}')::float8, 1) * 3.8) AS memory_gib,
              (SELECT max(e.created_at) FROM task_event e
                 WHERE e.task_id = t.id AND e.attempt = t.current_attempt AND e.kind = 'state'
                   AND e.to_state = 'RUNNING') AS started_at,
              COALESCE((t.placement ->> 'expected_run_s')::float8,
                       -- Placements recorded before expected_run_s: the chosen site's candidate.
                       (SELECT (c ->> 'runS')::float8 FROM jsonb_array_elements(t.placement -> 'candidates') c
                          WHERE c ->> 'siteId' = t.site_id::text LIMIT 1)) AS expected_run_s
       FROM task t
       WHERE t.state IN ('RUNNING', 'CANCELING') AND t.site_id IS NOT NULL`,
      [GIB_PER_GB],
    );
    const bySite = new Map<string, RunningTask[]>();
    for (const r of rows) {
      if (r.started_at === null || r.expected_run_s === null) continue;
      const list = bySite.get(r.site_id) ?? [];
      list.push({
        cores: r.cores,
        memoryGib: r.memory_gib,
        startedAt: r.started_at.getTime() / 1000,
        expectedRunS: r.expected_run_s,
      });
      bySite.set(r.site_id, list);
    }
    return bySite;
  }

  async submitters(m: EntityManager, ids: string[]): Promise<SubmitterUsage[]> {
    if (ids.length === 0) return [];
    const rows: {
      id: string;
      allowed_site_ids: string[];
      max_running_tasks: number | null;
      share_weight: number;
      running: number;
      home_data_store_id: string | null;
    }[] = await m.query(
      `SELECT p.id, p.allowed_site_ids, p.max_running_tasks, p.share_weight, p.home_data_store_id,
              (SELECT count(*)::integer FROM task t
                 WHERE t.submitter_id = p.id AND t.state IN ('INITIALIZING', 'RUNNING', 'CANCELING')) AS running
       FROM principal p WHERE p.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => ({
      id: r.id,
      allowedSiteIds: r.allowed_site_ids,
      quota: r.max_running_tasks,
      weight: r.share_weight,
      running: r.running,
      homeDataStoreId: r.home_data_store_id,
    }));
  }

  /**
   * Claims up to `limit` tasks of a phase whose next step is due and whose lease is free; the lease names
   * this replica, so a replica that dies hands its tasks on when the lease runs out. Leases run on the
   * database's clock, so replicas whose clocks disagree still agree on when a lease ends; a claimed task's
   * next check moves to the end of its lease, so other claims skip it without reading it.
   */
  async claim(
    phase: Phase,
    replica: string,
    now: Date,
    leaseSeconds: number,
    limit: number,
  ): Promise<DispatchTask[]> {
    // TypeORM answers an UPDATE ... RETURNING on PostgreSQL with [rows, affected count]. RETURNING keeps no
    // order, and gives the new next_check_at: the due time each row had comes back beside it, to sort by.
    const [rows]: [(Row & { due_at: Date })[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $1,
              lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       FROM (
         SELECT id AS due_id, next_check_at AS due_at FROM task
         WHERE ${PHASE_FILTER[phase]} AND next_check_at <= $2
           AND (lease_until IS NULL OR lease_until < clock_timestamp())
         ORDER BY next_check_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED) due
       WHERE task.id = due.due_id
       RETURNING ${COLUMNS}, due.due_at`,
      [replica, now, leaseSeconds, limit],
    );
    rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
    const tasks = rows.map(toTask);
    return phase === 'submit' ? this.withContents(tasks) : tasks;
  }

  /**
   * Extends this replica's lease on a task it works on (a delivery while its bytes flow); false when the claim
   * is no longer this replica's, or a cancel was asked for meanwhile: the work must then stop.
   */
  async renewLease(id: string, replica: string, leaseSeconds: number): Promise<boolean> {
    const [, affected]: [unknown[], number] = await this.db.query(
      `UPDATE task SET lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id = $1 AND claimed_by = $2 AND lease_until > clock_timestamp() AND state <> 'CANCELING'`,
      [id, replica, leaseSeconds],
    );
    return affected > 0;
  }

  /** Hands a claimed task back at once (this replica stops), so another replica need not wait out the lease. */
  async releaseClaim(id: string, replica: string): Promise<void> {
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL, next_check_at = clock_timestamp()
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica],
    );
  }

  /**
   * Claims the tracked task whose attempt the site knows as `remoteId`, due or not: a site pushed news about
   * it. `busy` when its lease is held (by a replica checking it now), `none` when no unfinished task has it.
   */
  async claimPushed(
    remoteId: string,
    replica: string,
    leaseSeconds: number,
  ): Promise<DispatchTask[] | 'busy' | 'none'> {
    // Served by task_remote_id_active_idx. Pulsar job ids name the task and attempt: one row at most.
    const [rows]: [Row[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $2, lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id IN (
         SELECT id FROM task
         WHERE remote_id = $1 AND ${PHASE_FILTER.track}
           AND (lease_until IS NULL OR lease_until < clock_timestamp())
         FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [remoteId, replica, leaseSeconds],
    );
    if (rows.length > 0) return rows.map(toTask);
    const held: unknown[] = await this.db.query(
      `SELECT 1 FROM task WHERE remote_id = $1 AND ${PHASE_FILTER.track} LIMIT 1`,
      [remoteId],
    );
    return held.length > 0 ? 'busy' : 'none';
  }

  /**
   * Frees claimed tasks without asking their site (its request budget is spent), each to be checked again
   * at its own time; nothing a client sees changes.
   */
  async defer(replica: string, checks: readonly { id: string; at: Date }[]): Promise<void> {
    if (checks.length === 0) return;
    await this.db.query(
      `UPDATE task t SET claimed_by = NULL, lease_until = NULL, next_check_at = d.at
       FROM unnest($2::uuid[], $3::timestamptz[]) AS d(id, at)
       WHERE t.id = d.id AND t.claimed_by = $1`,
      [replica, checks.map((c) => c.id), checks.map((c) => c.at)],
    );
  }

  /** When the next tracked task falls due (null: none is tracked), so the tracking loop sleeps until then. */
  async nextTrackDue(): Promise<Date | null> {
    // Served by task_dispatch_due_idx, read in order: the first row that matches ends the scan.
    const rows: { at: Date }[] = await this.db.query(
      `SELECT next_check_at AS at FROM task
       WHERE ${PHASE_FILTER.track} AND (lease_until IS NULL OR lease_until < clock_timestamp())
       ORDER BY next_check_at LIMIT 1`,
    );
    return rows.length === 0 ? null : rows[0].at;
  }

  /** The tasks with their inline contents put back into their documents: what a site must receive. */
  private async withContents(tasks: DispatchTask[]): Promise<DispatchTask[]> {
    const ids = tasks.filter((t) => t.hasInlineContent).map((t) => t.id);
    if (ids.length === 0) return tasks;
    const rows: { task_id: string; input_index: number; content: string }[] = await this.db.query(
      `SELECT task_id, input_index, content FROM task_input_content WHERE task_id = ANY($1::uuid[])`,
      [ids],
    );
    const byTask = new Map<string, InputContent[]>();
    for (const r of rows) {
      const list = byTask.get(r.task_id) ?? [];
      list.push({ index: r.input_index, content: r.content });
      byTask.set(r.task_id, list);
    }
    return tasks.map((t) => {
      const contents = byTask.get(t.id);
      return contents ? { ...t, document: withInlineContent(t.document, contents) } : t;
    });
  }

  /**
   * Re-reads a claimed task under a row lock and runs `fn` on it, if this replica still holds the claim
   * (a lease that ran out may have passed it on). `fn` returns the update to write, or null for none.
   */
  async withClaim(
    id: string,
    replica: string,
    fn: (task: DispatchTask) => ClaimedChange | null,
    now: Date,
  ): Promise<boolean> {
    return (await this.withClaims([id], replica, fn, now)).has(id);
  }

  /**
   * withClaim for many tasks in one transaction: one lock read (in id order, so two such batches never
   * deadlock), one update per shape of change, one insert of their events and one learning step for their
   * completions, instead of a transaction of a dozen statements per task. The ids this replica still held.
   */
  async withClaims(
    ids: readonly string[],
    replica: string,
    fn: (task: DispatchTask) => ClaimedChange | null,
    now: Date,
  ): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.db.transaction(async (m) => {
      const rows: Row[] = await m.query(
        `SELECT ${COLUMNS} FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [[...new Set(ids)]],
      );
      const held = rows.filter((r) => r.claimed_by === replica).map(toTask);
      const writes: ClaimedUpdate[] = [];
      const events: { taskId: string; note: TaskEventNote }[] = [];
      const completed: LearnedCompletion[] = [];
      for (const task of held) {
        const change = fn(task);
        if (change?.quiet) {
          await this.writeQuietly(m, task.id, change.update, now);
          continue;
        }
        writes.push({ id: task.id, update: change?.update ?? { nextCheckAt: now } });
        if (change?.event) events.push({ taskId: task.id, note: change.event });
        if (change?.abandon) await this.abandon(m, task.id, change.abandon, now);
        if (change?.event?.to === 'COMPLETE') completed.push({ task, logs: change.update.logs });
      }
      await writeClaimedUpdates(m, writes, now);
      await insertTaskEvents(m, events, now);
      await this.learning.learn(m, completed, now);
      return new Set(held.map((t) => t.id));
    });
  }

  /** Nothing the API shows changed: moves the next check and frees the claim, without a new version. */
  private async writeQuietly(m: EntityManager, id: string, u: TaskUpdate, now: Date): Promise<void> {
    await m.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL, next_check_at = $2, failing_since = NULL,
              track_interval_ms = COALESCE($3, track_interval_ms), remote_state = COALESCE($4, remote_state)
       WHERE id = $1`,
      [id, u.nextCheckAt ?? now, u.trackIntervalMs ?? null, u.remoteState ?? null],
    );
  }

  /**
   * Writes sites' answers to submissions on their tasks, for those this replica still holds (see withClaim):
   * one lock read, one update and one commit for the lot, whatever their number, so the submissions that
   * finish together cost the database one transaction. Rows are locked in id order, so two such batches
   * never deadlock. Whether each task's claim was still held, in the order given.
   */
  async recordSubmissions(
    replica: string,
    items: readonly { id: string; answer: (task: DispatchTask) => SubmissionAnswer }[],
    now: Date,
  ): Promise<boolean[]> {
    return this.db.transaction(async (m) => {
      const rows: Row[] = await m.query(
        `SELECT ${COLUMNS} FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [items.map((i) => i.id)],
      );
      const held = new Map(rows.filter((r) => r.claimed_by === replica).map((r) => [r.id, toTask(r)]));
      const writes: (SubmissionAnswer & { id: string })[] = [];
      const done = items.map(({ id, answer }) => {
        const task = held.get(id);
        // Named twice in one batch: written once, as the first write frees the claim.
        held.delete(id);
        if (task) writes.push({ id, ...answer(task) });
        return task !== undefined;
      });
      if (writes.length === 0) return done;
      await m.query(
        `UPDATE task t SET remote_id = w.remote_id, logs = w.logs, next_check_at = w.next_check_at,
                track_interval_ms = COALESCE(w.track_interval_ms, t.track_interval_ms), remote_state = NULL,
                failing_since = NULL, submit_doubt_at = NULL, updated_at = $1, version = t.version + 1,
                claimed_by = NULL, lease_until = NULL
         FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::integer[])
           AS w(id, remote_id, logs, next_check_at, track_interval_ms)
         WHERE t.id = w.id`,
        [
          now,
          writes.map((w) => w.id),
          writes.map((w) => w.remoteId),
          writes.map((w) => JSON.stringify(w.logs)),
          writes.map((w) => w.nextCheckAt),
          writes.map((w) => w.trackIntervalMs ?? null),
        ],
      );
      for (const w of writes) if (w.abandon) await this.abandon(m, w.id, w.abandon, now);
      return done;
    });
  }

  /** Writes an update (bumping the version, which the TES cancel path checks) and optionally frees the lease. */
  async write(
    m: EntityManager,
    id: string,
    u: TaskUpdate,
    now: Date,
    release: boolean,
    onlyIn?: TesState,
  ): Promise<boolean> {
    const sets = ['updated_at = $2', 'version = version + 1'];
    const params: unknown[] = [id, now];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (u.state !== undefined) set('state', u.state);
    if (u.siteId !== undefined) set('site_id', u.siteId);
    if (u.remoteId !== undefined) set('remote_id', u.remoteId);
    if (u.attempt !== undefined) set('current_attempt', u.attempt);
    if (u.placement !== undefined) set('placement', JSON.stringify(u.placement), '::jsonb');
    if (u.logs !== undefined) set('logs', JSON.stringify(u.logs), '::jsonb');
    if (u.excludedSiteIds !== undefined) set('excluded_site_ids', u.excludedSiteIds, '::uuid[]');
    if (u.preemptions !== undefined) set('preemptions', u.preemptions);
    if (u.queuedAt !== undefined) set('queued_at', u.queuedAt);
    if (u.nextCheckAt !== undefined) set('next_check_at', u.nextCheckAt);
    if (u.failingSince !== undefined) set('failing_since', u.failingSince);
    if (u.submitDoubtAt !== undefined) set('submit_doubt_at', u.submitDoubtAt);
    if (u.deliveryTries !== undefined) set('delivery_tries', u.deliveryTries);
    if (u.trackIntervalMs !== undefined) set('track_interval_ms', u.trackIntervalMs);
    if (u.remoteState !== undefined) set('remote_state', u.remoteState);
    if (release) sets.push('claimed_by = NULL', 'lease_until = NULL');
    let where = 'id = $1';
    if (onlyIn !== undefined) {
      params.push(onlyIn);
      where += ` AND state = $${params.length}`;
    }
    // TypeORM answers an UPDATE on PostgreSQL with [rows, affected count].
    const [, affected]: [unknown[], number] = await m.query(
      `UPDATE task SET ${sets.join(', ')} WHERE ${where}`,
      params,
    );
    return affected > 0;
  }

  async event(
    m: EntityManager,
    taskId: string,
    e: TaskEventNote,
    now: Date,
    kind: TaskEventKind = 'state',
  ): Promise<void> {
    await m.query(
      `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [newId(), taskId, now, e.from, e.to, e.siteId, e.attempt, e.reason.slice(0, 2000), kind],
    );
  }

  /** Remembers a copy the task leaves at a site; the abandoned-copies step stops it once the site answers. */
  async abandon(m: EntityManager, taskId: string, a: AbandonNote, now: Date): Promise<void> {
    await m.query(
      `INSERT INTO abandoned_copy (id, task_id, site_id, attempt, remote_id, reason, created_at, next_check_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [newId(), taskId, a.siteId, a.attempt, a.remoteId, a.reason.slice(0, 2000), now, a.dueAt ?? now],
    );
  }

  /**
   * Frees a claim after the site failed to answer, marking since when it has been failing, and says when to
   * look again (at once if a cancel arrived meanwhile).
   */
  async releaseFailing(
    id: string,
    replica: string,
    nextCheckAt: Date,
    now: Date,
    submitDoubtAt?: Date,
  ): Promise<void> {
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL,
              next_check_at = CASE WHEN state = 'CANCELING' THEN $4::timestamptz ELSE $3::timestamptz END,
              failing_since = COALESCE(failing_since, $4::timestamptz),
              submit_doubt_at = COALESCE($5::timestamptz, submit_doubt_at)
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica, nextCheckAt, now, submitDoubtAt ?? null],
    );
  }

  /**
   * Records, on a task, what became of a copy it had left at a site (stopped, or found finished anyway): an
   * event of kind `copy` and a line in the system logs of the attempt that made the copy, where users of the
   * TES API see it. The task's own state and outcome do not change.
   */
  async recordCopy(
    taskId: string,
    attempt: number,
    siteId: string,
    reason: string,
    now: Date,
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { state: TesState; logs: TesTaskLog[] }[] = await m.query(
        'SELECT state, logs FROM task WHERE id = $1 FOR UPDATE',
        [taskId],
      );
      if (rows.length === 0) return;
      const { state, logs } = rows[0];
      const updated = withAttemptLog(Array.isArray(logs) ? logs : [], attempt, (l) =>
        addSystemLog(l, reason.slice(0, 2000)),
      );
      await m.query(
        `UPDATE task SET logs = $2::jsonb, updated_at = $3, version = version + 1 WHERE id = $1`,
        [taskId, JSON.stringify(updated), now],
      );
      await this.event(m, taskId, { from: state, to: state, siteId, attempt, reason }, now, 'copy');
    });
  }
}
