import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import { COLUMNS, DispatchTask, DispatchTaskRow, toDispatchTask } from './dispatch-task';
import { storedPlacement } from './placement-storage';
import { ClaimedUpdate, TaskUpdate, writeClaimedUpdates } from './task-change-writes';
import { EVENT_REASON_CHARS, insertTaskEvent, TaskEventNote } from './task-event.writer';
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

/** A site's answer to a submission, worked out from the task's row (the claimed one, or one read again). */
export interface SubmissionItem<A> {
  id: string;
  /** The row as this replica's claim read it. */
  claimed: DispatchTask;
  answer: (task: DispatchTask) => A;
}

/** Writes the caller keeps beside some answers (`needed`), in the transaction that records them. */
export interface SubmissionAlongside<A> {
  needed: (answer: A) => boolean;
  write: Alongside<A>;
}

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
 * The placing and starting events of attempts ($1 task ids, $2 attempts), oldest first. Each attempt's are
 * looked up by task_event_task_id_created_at_idx; OFFSET 0 keeps the lateral subquery from being flattened
 * into a join, which the planner ran by scanning the whole of task_event for every batch, by hash or (with
 * young statistics, as in bench:dispatch) by a nested loop over every event and every attempt: 84 ms a batch
 * of 150 there, a quarter of PostgreSQL's time in the throughput burst.
 */
export const ATTEMPT_EVENTS_SQL = `SELECT a.task_id, a.attempt, e.to_state, e.created_at
  FROM unnest($1::uuid[], $2::integer[]) AS a(task_id, attempt)
  CROSS JOIN LATERAL (
    SELECT to_state, created_at FROM task_event
    WHERE task_id = a.task_id AND attempt = a.attempt
      AND kind = 'state' AND to_state IN ('INITIALIZING', 'RUNNING')
    OFFSET 0) e
  ORDER BY e.created_at`;

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
   * cancel may have got there first): one round trip for the pass rather than two per task. A task the
   * broker took back from a site queue carries the note of that take-back into its new record as
   * `previous_attempt`. The ids written.
   */
  async writePlacements(
    m: EntityManager,
    placed: readonly PlacementWrite[],
    now: Date,
  ): Promise<Set<string>> {
    if (placed.length === 0) return new Set();
    // The pass as one JSON text, not one array per column: node-postgres escapes every element of a text
    // array character by character, and a placement's explanation (every candidate with its terms) is
    // about 5 KB, so the arrays cost the broker more than the statement cost PostgreSQL. Read as jsonb, so
    // PostgreSQL parses it once: json_to_recordset parsed the text, then each record's jsonb fields again
    // (a quarter to a third of the statement's time with 20 sites).
    const pass = placed.map((p) => ({
      id: p.id,
      event_id: newId(),
      site_id: p.siteId,
      attempt: p.attempt,
      placement: storedPlacement(p.placement),
      logs: p.logs,
      reason: p.reason.slice(0, EVENT_REASON_CHARS),
    }));
    const rows: { task_id: string }[] = await m.query(
      `WITH placed AS (
         UPDATE task t SET state = 'INITIALIZING', site_id = p.site_id, remote_id = NULL,
                current_attempt = p.attempt, logs = p.logs, next_check_at = $1,
                -- A task taken back from its last site keeps why in its new placement's record.
                placement = p.placement || CASE WHEN t.placement ? 'taken_back'
                  THEN jsonb_build_object('previous_attempt', t.placement -> 'taken_back') ELSE '{}'::jsonb END,
                updated_at = $1, version = t.version + 1, claimed_by = NULL, lease_until = NULL
         FROM jsonb_to_recordset($2::jsonb)
           AS p(id uuid, event_id uuid, site_id uuid, attempt integer, placement jsonb, logs jsonb, reason text)
         WHERE t.id = p.id AND t.state = 'QUEUED'
         RETURNING t.id, p.event_id, p.site_id, p.attempt, p.reason)
       INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
       SELECT event_id, id, $1, 'QUEUED', 'INITIALIZING', site_id, attempt, reason, 'state' FROM placed
       RETURNING task_id`,
      [now, JSON.stringify(pass)],
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
      await writeClaimedUpdates(m, writes, now, events);
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
   * Writes sites' answers to submissions on their tasks, for those this replica still holds (see withClaim).
   * An answer whose task is still at the version its claim read (nothing a client sees changed since) is
   * worked out from the claimed row and written in one guarded statement with the others, outside any
   * transaction: the row's claim and version are checked where it is written, so a claim taken over (or a
   * cancel meanwhile) writes nothing there. The rest, and answers that need `alongside`, are written as
   * before, from the row read again under its lock: one lock read, one update and one commit for the lot.
   * Whether each task's claim was still held, in the order given.
   */
  async recordSubmissions<A extends SubmissionWrite>(
    replica: string,
    items: readonly SubmissionItem<A>[],
    now: Date,
    alongside?: SubmissionAlongside<A>,
  ): Promise<boolean[]> {
    const guarded: { task: DispatchTask; answer: A }[] = [];
    const seen = new Set<string>();
    for (const { id, claimed, answer } of items) {
      // Named twice in one batch: written once, as the first write frees the claim.
      if (seen.has(id)) continue;
      seen.add(id);
      const written = answer(claimed);
      if (!alongside?.needed(written)) guarded.push({ task: claimed, answer: written });
    }
    const done = await this.writeSubmissions(this.db.manager, replica, guarded, now, true);
    const rest = items.filter((item) => !done.has(item.id));
    if (rest.length > 0) {
      const locked = await this.recordLocked(replica, rest, now, alongside?.write);
      rest.forEach((item, i) => {
        if (locked[i]) done.add(item.id);
      });
    }
    // Named twice: the second is not the one written.
    const first = new Set<string>();
    return items.map(({ id }) => {
      const held = done.has(id) && !first.has(id);
      first.add(id);
      return held;
    });
  }

  /** recordSubmissions' path under row locks, in one transaction: each answer from the row as it is now. */
  private recordLocked<A extends SubmissionWrite>(
    replica: string,
    items: readonly SubmissionItem<A>[],
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
      await this.writeSubmissions(m, replica, writes, now, false);
      if (alongside) for (const w of writes) await alongside(m, w.task, w.answer);
      return done;
    });
  }

  /**
   * One UPDATE of submission answers, each on the row of its task if this replica holds its claim and,
   * with `atVersion`, only while the row is at the version the answer was worked out from. The ids written.
   */
  private async writeSubmissions<A extends SubmissionWrite>(
    m: EntityManager,
    replica: string,
    writes: readonly { task: DispatchTask; answer: A }[],
    now: Date,
    atVersion: boolean,
  ): Promise<Set<string>> {
    if (writes.length === 0) return new Set();
    const [rows]: [{ id: string }[], number] = await m.query(
      `UPDATE task t SET remote_id = w.remote_id, logs = w.logs, next_check_at = w.next_check_at,
              track_interval_ms = COALESCE(w.track_interval_ms, t.track_interval_ms), remote_state = NULL,
              failing_since = NULL, submit_doubt_at = NULL, updated_at = $1, version = t.version + 1,
              claimed_by = NULL, lease_until = NULL
       FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::timestamptz[], $6::integer[], $7::integer[])
         AS w(id, remote_id, logs, next_check_at, track_interval_ms, version)
       WHERE t.id = w.id AND t.claimed_by = $8 AND ($9::boolean IS FALSE OR t.version = w.version)
       RETURNING t.id`,
      [
        now,
        writes.map((w) => w.task.id),
        writes.map((w) => w.answer.remoteId),
        writes.map((w) => JSON.stringify(w.answer.logs)),
        writes.map((w) => w.answer.nextCheckAt),
        writes.map((w) => w.answer.trackIntervalMs ?? null),
        writes.map((w) => w.task.version),
        replica,
        atVersion,
      ],
    );
    return new Set(rows.map((r) => r.id));
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
      await m.query(ATTEMPT_EVENTS_SQL, [attempts.map((a) => a.taskId), attempts.map((a) => a.attempt)]);
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
    if (u.placement !== undefined) set('placement', JSON.stringify(storedPlacement(u.placement)), '::jsonb');
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
