import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import { COLUMNS, DispatchTask, DispatchTaskRow, toDispatchTask } from './dispatch-task';
import { EVENT_REASON_CHARS, insertTaskEvent, TaskEventNote } from './task-event.writer';
import type { TesState, TesTaskLog } from './tes.types';

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
    fn: (task: DispatchTask) => (C & { quiet?: boolean }) | null,
    now: Date,
    alongside?: Alongside<C>,
  ): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const rows: DispatchTaskRow[] = await m.query(`SELECT ${COLUMNS} FROM task WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (rows.length === 0 || rows[0].claimed_by !== replica) return false;
      const task = toDispatchTask(rows[0]);
      const change = fn(task);
      if (change?.quiet) {
        // Nothing the API shows changed: move the next check and free the claim, without a new version.
        await m.query(
          `UPDATE task SET claimed_by = NULL, lease_until = NULL, next_check_at = $2, failing_since = NULL,
                  track_interval_ms = COALESCE($3, track_interval_ms), remote_state = COALESCE($4, remote_state)
           WHERE id = $1`,
          [
            id,
            change.update.nextCheckAt ?? now,
            change.update.trackIntervalMs ?? null,
            change.update.remoteState ?? null,
          ],
        );
        return true;
      }
      await this.write(m, id, change?.update ?? { nextCheckAt: now }, now, true);
      if (change?.event) await insertTaskEvent(m, id, change.event, now);
      if (change && alongside) await alongside(m, task, change);
      return true;
    });
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
   * When an attempt was placed and started, from its state events, read in the caller's transaction (the one
   * that records its completion). Undefined where no such event was written.
   */
  async attemptTimes(
    m: EntityManager,
    taskId: string,
    attempt: number,
  ): Promise<{ placedAt?: Date; startedAt?: Date }> {
    const events: { to_state: TesState; created_at: Date }[] = await m.query(
      `SELECT to_state, created_at FROM task_event
       WHERE task_id = $1 AND attempt = $2 AND kind = 'state' AND to_state IN ('INITIALIZING', 'RUNNING')
       ORDER BY created_at`,
      [taskId, attempt],
    );
    return {
      placedAt: events.find((e) => e.to_state === 'INITIALIZING')?.created_at,
      startedAt: events.find((e) => e.to_state === 'RUNNING')?.created_at,
    };
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
