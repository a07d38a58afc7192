import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { COLUMNS, DispatchTask, DispatchTaskRow, FREE, PHASE_FILTER, toDispatchTask } from './dispatch-task';
import type { TesState, TesTaskLog } from './tes.types';

/** A task claimed for a status check, with the version its row had then. */
export interface ClaimedCheck {
  task: DispatchTask;
  version: number;
}

/**
 * A tracked task of a walked site, read without a lock and without its document, with its row's version
 * then: what a walk needs to tell a quiet check from one that is not.
 */
export interface WalkedTask {
  id: string;
  remoteId: string;
  siteId: string;
  state: TesState;
  /** The row's version when read: a changed task is claimed only at this version. */
  version: number;
  /** Whether the task is already left to its site's walk (false: just submitted, or set due again). */
  sitePaced: boolean;
  attempt: number;
  remoteState: TesState | null;
  trackIntervalMs: number | null;
  failingSince: Date | null;
  /** The current attempt's log without its executors' stdout and stderr; null when the row has none. */
  attemptLog: TesTaskLog | null;
}

/** A row of siteTasks as PostgreSQL returns it. */
interface WalkedRow {
  id: string;
  remote_id: string;
  site_id: string;
  state: TesState;
  version: number;
  site_paced: boolean;
  current_attempt: number;
  remote_state: TesState | null;
  track_interval_ms: number | null;
  failing_since: Date | null;
  log: TesTaskLog | null;
}

/** A check that found nothing new: only when the task is checked next moves. */
export interface QuietCheck {
  id: string;
  /** The row's version when it was claimed: the write applies only to a row no one changed since. */
  version: number;
  nextCheckAt: Date;
  trackIntervalMs: number | null;
  remoteState: TesState | null;
}

/**
 * The task statements of tracking at scale: claims by site, and the checks that found nothing new written a
 * batch at a time. The rest of tracking's writes (the changes, one task at a time under its row lock) are
 * TaskChangeRepository's; the site walks themselves (site_tracking) are dispatch's.
 */
@Injectable()
export class TaskTrackingRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The sites with a tracked task due at `now` and free to claim, the one due longest first. */
  async dueSites(now: Date): Promise<string[]> {
    // Served by task_track_due_idx: only the due tracked rows are read.
    const rows: { site_id: string }[] = await this.db.query(
      `SELECT site_id FROM task
       WHERE ${PHASE_FILTER.track} AND next_check_at <= $1 AND ${FREE}
       GROUP BY site_id ORDER BY min(next_check_at)`,
      [now],
    );
    return rows.map((r) => r.site_id);
  }

  /** Whether some tracked task of a site is due by `now` (just submitted, or set due again), leased or not. */
  async siteHasDue(siteId: string, now: Date): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `SELECT 1 FROM task WHERE site_id = $1 AND ${PHASE_FILTER.track} AND next_check_at <= $2 LIMIT 1`,
      [siteId, now],
    );
    return rows.length > 0;
  }

  /**
   * Claims a site's free tracked tasks due by `dueBy`, in one statement. Unlike TaskLeaseRepository.claim it
   * leaves `next_check_at` as it is: the claim then changes no indexed column, so PostgreSQL may write it
   * without touching the task table's many indexes (a HOT update); other claims skip the leased rows by their
   * lease, and the check's own write moves the next check.
   */
  async claimSite(
    siteId: string,
    replica: string,
    dueBy: Date,
    leaseSeconds: number,
    limit: number,
  ): Promise<ClaimedCheck[]> {
    // Served by task_site_id_active_idx. TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows]: [(DispatchTaskRow & { due_at: Date })[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $3)
       FROM (
         SELECT id AS due_id, next_check_at AS due_at FROM task
         WHERE site_id = $5 AND ${PHASE_FILTER.track} AND ${FREE} AND next_check_at <= $2
         ORDER BY next_check_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED) due
       WHERE task.id = due.due_id
       RETURNING ${COLUMNS}, due.due_at`,
      [replica, dueBy, leaseSeconds, limit, siteId],
    );
    rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
    return rows.map((r) => ({ task: toDispatchTask(r), version: r.version }));
  }

  /**
   * The free tracked tasks of a site, read without a lock and without their documents: a walk takes a row
   * only when its task changed (claimChanged reads it whole then). The ones due on their own come first (a
   * site with more tasks than one walk reports on covers them first). A task whose next check is at
   * `sitePacedAt` or later is left to its site's walk.
   */
  async siteTasks(siteId: string, limit: number, sitePacedAt: Date): Promise<WalkedTask[]> {
    // Served by task_site_id_active_idx, in its order. Of the log only the current attempt's entry comes back,
    // its executors' stdout and stderr cut out in the database (tails of up to 64 KiB each, every row).
    const rows: WalkedRow[] = await this.db.query(
      `SELECT t.id, t.remote_id, t.site_id, t.state, t.version, t.next_check_at >= $3 AS site_paced,
              t.current_attempt, t.remote_state, t.track_interval_ms, t.failing_since, a.log
       FROM task t
       LEFT JOIN LATERAL (
         SELECT CASE WHEN jsonb_typeof(e->'logs') = 'array' THEN jsonb_set(e, '{logs}', (
                  SELECT COALESCE(jsonb_agg(CASE WHEN jsonb_typeof(x) = 'object' THEN x - 'stdout' - 'stderr'
                                                 ELSE x END ORDER BY k), '[]'::jsonb)
                  FROM jsonb_array_elements(e->'logs') WITH ORDINALITY AS streams(x, k)))
                ELSE e END AS log
         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.logs) = 'array' THEN t.logs ELSE '[]'::jsonb END)
              WITH ORDINALITY AS entries(e, n)
         WHERE e->'metadata'->>'attempt' = t.current_attempt::text
         ORDER BY n DESC LIMIT 1) a ON true
       WHERE t.site_id = $1 AND ${PHASE_FILTER.track} AND ${FREE}
       ORDER BY t.next_check_at LIMIT $2`,
      [siteId, limit, sitePacedAt],
    );
    return rows.map((r) => ({
      id: r.id,
      remoteId: r.remote_id,
      siteId: r.site_id,
      state: r.state,
      version: r.version,
      sitePaced: r.site_paced,
      attempt: r.current_attempt,
      remoteState: r.remote_state,
      trackIntervalMs: r.track_interval_ms,
      failingSince: r.failing_since,
      attemptLog: r.log,
    }));
  }

  /**
   * Takes the rows of the tasks a walk found changed, each only if free and at the version the walk read (a
   * row changed since, by a cancel say, is left to whoever changed it, and the next walk reads it anew).
   */
  async claimChanged(
    replica: string,
    leaseSeconds: number,
    checks: readonly { id: string; version: number }[],
  ): Promise<ClaimedCheck[]> {
    if (checks.length === 0) return [];
    const [rows]: [DispatchTaskRow[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $2)
       FROM unnest($3::uuid[], $4::integer[]) AS c(changed_id, read_version)
       WHERE task.id = c.changed_id AND task.version = c.read_version AND ${FREE}
       RETURNING ${COLUMNS}`,
      [replica, leaseSeconds, checks.map((c) => c.id), checks.map((c) => c.version)],
    );
    return rows.map((r) => ({ task: toDispatchTask(r), version: r.version }));
  }

  /**
   * Writes many checks that found nothing new in one statement, and frees their claims, without a new
   * version (clients see nothing change). A row this replica no longer holds, or that changed since it was
   * claimed (a cancel request), is left alone: the ids written come back, and the caller decides the others
   * one by one under their row locks. With `replica` null the rows were read, not claimed: only free ones
   * are written.
   */
  async writeQuiet(replica: string | null, checks: readonly QuietCheck[]): Promise<Set<string>> {
    if (checks.length === 0) return new Set();
    const [rows]: [{ id: string }[], number] = await this.db.query(
      `UPDATE task t SET claimed_by = NULL, lease_until = NULL, next_check_at = q.next_check_at,
              failing_since = NULL,
              track_interval_ms = COALESCE(q.interval_ms, t.track_interval_ms),
              remote_state = COALESCE(q.remote_state, t.remote_state)
       FROM unnest($2::uuid[], $3::integer[], $4::timestamptz[], $5::integer[], $6::text[])
            AS q(id, version, next_check_at, interval_ms, remote_state)
       WHERE t.id = q.id AND t.version = q.version
         AND (t.claimed_by = $1 OR ($1::text IS NULL AND (t.lease_until IS NULL OR t.lease_until < clock_timestamp())))
       RETURNING t.id`,
      [
        replica,
        checks.map((c) => c.id),
        checks.map((c) => c.version),
        checks.map((c) => c.nextCheckAt),
        checks.map((c) => c.trackIntervalMs),
        checks.map((c) => c.remoteState),
      ],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Frees many claims after the site failed to answer about them, marking since when each has been failing,
   * as TaskLeaseRepository.releaseFailing does one at a time.
   */
  async releaseFailing(replica: string, ids: readonly string[], nextCheckAt: Date, now: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL,
              next_check_at = CASE WHEN state = 'CANCELING' THEN $4::timestamptz ELSE $3::timestamptz END,
              failing_since = COALESCE(failing_since, $4::timestamptz)
       WHERE id = ANY($2::uuid[]) AND claimed_by = $1`,
      [replica, ids, nextCheckAt, now],
    );
  }
}
