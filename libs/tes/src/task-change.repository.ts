import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import { COLUMNS, DispatchTask, DispatchTaskRow, toDispatchTask } from './dispatch-task';
import { ClaimedUpdate, TaskUpdate, writeClaimedUpdates } from './task-change-writes';
import { EVENT_REASON_CHARS, insertTaskEvent, insertTaskEvents, TaskEventNote } from './task-event.writer';
import type { TesState, TesTaskLog } from './tes.types';

export type { TaskUpdate } from './task-change-writes';

/** An update and the event it records, as one dispatch step decides them. */
export interface TaskChange {
  update: TaskUpdate;
  event?: TaskEventNote;
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

/**
 * What a site's answer to a submission writes on its task: the site's id for the attempt, the attempt's log
 * naming it, and the first check; the site's state and any failure or doubt are cleared.
 */
export interface SubmissionWrite {
  remoteId: string;
  logs: TesTaskLog[];
  nextCheckAt: Date;
  /** Left as it is when absent. */
  trackIntervalMs?: number;
}

/** What a copy of a task left at a site became: a `copy` event, and a line in its attempt's logs. */
export interface CopyNote {
  siteId: string;
  attempt: number;
  reason: string;
}

/** Writes the caller keeps in its own tables, made in the transaction of the task's change. */
export type Alongside<C> = (m: EntityManager, task: DispatchTask, change: C) => Promise<void>;

/** A change to a claimed task; `quiet`: nothing the API shows changed (no new version, no event). */
export type ClaimedChange<C extends TaskChange = TaskChange> = C & { quiet?: boolean };

/** Alongside for a batch: the tasks changed (not quietly) and their changes, in one call. */
export type AlongsideAll<C> = (
  m: EntityManager,
  changed: readonly { task: DispatchTask; change: C }[],
) => Promise<void>;

/** When an attempt was placed and started, from its state events; undefined where none was written. */
export interface AttemptTimes {
  placedAt?: Date;
  startedAt?: Date;
}

/**
 * Dispatch's writes on the task table and its history: placements, sites' answers to submissions, the changes
 * a status check, delivery or cancel decides, one task at a time under its row lock, and what became of
 * abandoned copies. Every write bumps the task's version, which the TES cancel path checks.
 */
@Injectable()
export class TaskChangeRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** One task as dispatch sees it, or null. */
  async find(id: string): Promise<(DispatchTask & { placement: Record<string, unknown> | null }) | null> {
    const rows: (DispatchTaskRow & { placement: Record<string, unknown> | null })[] = await this.db.query(
      `SELECT ${COLUMNS}, placement FROM task WHERE id = $1`,
      [id],
    );
    return rows.length === 0 ? null : { ...toDispatchTask(rows[0]), placement: rows[0].placement };
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
        placed.map((p) => p.reason.slice(0, EVENT_REASON_CHARS)),
      ],
    );
    return new Set(rows.map((r) => r.task_id));
  }

  /** Records one event in the caller's transaction (a placement that failed a task, say). */
  async event(m: EntityManager, taskId: string, e: TaskEventNote, now: Date): Promise<void> {
    await insertTaskEvent(m, taskId, e, now);
  }

  /**
   * Re-reads a claimed task under a row lock and runs `fn` on it, if this replica still holds the claim
   * (a lease that ran out may have passed it on). `fn` returns the change to write, or null for none; a
   * change written (not quiet) is handed to `alongside` in the same transaction.
   */
  async withClaim<C extends TaskChange>(
    id: string,
    replica: string,
    fn: (task: DispatchTask) => ClaimedChange<C> | null,
    now: Date,
    alongside?: AlongsideAll<C>,
  ): Promise<boolean> {
    return (await this.withClaims([id], replica, fn, now, alongside)).has(id);
  }

  /**
   * withClaim for many tasks in one transaction: one lock read (in id order, so two such batches never
   * deadlock), one update per shape of change, one insert of their events and one call of `alongside` with
   * every change written, instead of a transaction of a dozen statements per task. The ids this replica
   * still held.
   */
  async withClaims<C extends TaskChange>(
    ids: readonly string[],
    replica: string,
    fn: (task: DispatchTask) => ClaimedChange<C> | null,
    now: Date,
    alongside?: AlongsideAll<C>,
  ): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.db.transaction(async (m) => {
      const rows: DispatchTaskRow[] = await m.query(
        `SELECT ${COLUMNS} FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [[...new Set(ids)]],
      );
      const held = rows.filter((r) => r.claimed_by === replica).map(toDispatchTask);
      const writes: ClaimedUpdate[] = [];
      const events: { taskId: string; note: TaskEventNote }[] = [];
      const changed: { task: DispatchTask; change: C }[] = [];
      for (const task of held) {
        const change = fn(task);
        if (change?.quiet) {
          await this.writeQuietly(m, task.id, change.update, now);
          continue;
        }
        writes.push({ id: task.id, update: change?.update ?? { nextCheckAt: now } });
        if (change?.event) events.push({ taskId: task.id, note: change.event });
        if (change) changed.push({ task, change });
      }
      await writeClaimedUpdates(m, writes, now);
      await insertTaskEvents(m, events, now);
      if (alongside && changed.length > 0) await alongside(m, changed);
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
   * never deadlock. Each answer written is handed to `alongside` in the same transaction. Whether each
   * task's claim was still held, in the order given.
   */
  async recordSubmissions<A extends SubmissionWrite>(
    replica: string,
    items: readonly { id: string; answer: (task: DispatchTask) => A }[],
    now: Date,
    alongside?: Alongside<A>,
  ): Promise<boolean[]> {
    return this.db.transaction(async (m) => {
      const rows: DispatchTaskRow[] = await m.query(
        `SELECT ${COLUMNS} FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [items.map((i) => i.id)],
      );
      const held = new Map(
        rows.filter((r) => r.claimed_by === replica).map((r) => [r.id, toDispatchTask(r)]),
      );
      const writes: { task: DispatchTask; answer: A }[] = [];
      const done = items.map(({ id, answer }) => {
        const task = held.get(id);
        // Named twice in one batch: written once, as the first write frees the claim.
        held.delete(id);
        if (task) writes.push({ task, answer: answer(task) });
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
          writes.map((w) => w.task.id),
          writes.map((w) => w.answer.remoteId),
          writes.map((w) => JSON.stringify(w.answer.logs)),
          writes.map((w) => w.answer.nextCheckAt),
          writes.map((w) => w.answer.trackIntervalMs ?? null),
        ],
      );
      if (alongside) for (const w of writes) await alongside(m, w.task, w.answer);
      return done;
    });
  }

  /**
   * Records, on a task, what became of a copy it had left at a site (stopped, or found finished anyway): an
   * event of kind `copy` and the attempt's logs as `editLogs` makes them, where users of the TES API see it.
   * The task's own state and outcome do not change.
   */
  async recordCopy(
    taskId: string,
    copy: CopyNote,
    now: Date,
    editLogs: (logs: TesTaskLog[]) => TesTaskLog[],
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const rows: { state: TesState; logs: TesTaskLog[] }[] = await m.query(
        'SELECT state, logs FROM task WHERE id = $1 FOR UPDATE',
        [taskId],
      );
      if (rows.length === 0) return;
      const { state, logs } = rows[0];
      const updated = editLogs(Array.isArray(logs) ? logs : []);
      await m.query(
        `UPDATE task SET logs = $2::jsonb, updated_at = $3, version = version + 1 WHERE id = $1`,
        [taskId, JSON.stringify(updated), now],
      );
      await insertTaskEvent(m, taskId, { from: state, to: state, ...copy }, now, 'copy');
    });
  }

  /**
   * When attempts were placed and started, from their state events, read in the caller's transaction (the
   * one that records their completions) with one statement, keyed `${taskId} ${attempt}`.
   */
  async attemptTimes(
    m: EntityManager,
    attempts: readonly { taskId: string; attempt: number }[],
  ): Promise<Map<string, AttemptTimes>> {
    if (attempts.length === 0) return new Map();
    const events: { task_id: string; attempt: number; to_state: TesState; created_at: Date }[] =
      await m.query(
        `SELECT e.task_id, e.attempt, e.to_state, e.created_at
         FROM task_event e JOIN unnest($1::uuid[], $2::integer[]) AS a(task_id, attempt)
           ON e.task_id = a.task_id AND e.attempt = a.attempt
         WHERE e.kind = 'state' AND e.to_state IN ('INITIALIZING', 'RUNNING')
         ORDER BY e.created_at`,
        [attempts.map((a) => a.taskId), attempts.map((a) => a.attempt)],
      );
    const times = new Map<string, AttemptTimes>();
    for (const e of events) {
      const key = `${e.task_id} ${e.attempt}`;
      const t = times.get(key) ?? {};
      // Ordered by time: the first event of each kind is the one that counts.
      if (e.to_state === 'INITIALIZING') t.placedAt ??= e.created_at;
      else t.startedAt ??= e.created_at;
      times.set(key, t);
    }
    return times;
  }

  /** Writes an update (bumping the version) and optionally frees the lease; `onlyIn` guards the state. */
  private async write(
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
}
