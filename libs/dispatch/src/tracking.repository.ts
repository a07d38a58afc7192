import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TesState, TesTaskLog } from '@constellation/tes';
import { COLUMNS, DispatchTask, PHASE_FILTER, Row, toTask } from './dispatch.repository';
import { SITE_PACED_AT } from './track-pacing';
import type { WalkRow } from './walk-screen';

const FREE = '(lease_until IS NULL OR lease_until < clock_timestamp())';

/** A task claimed for a status check, with the version its row had then. */
export interface ClaimedCheck {
  task: DispatchTask;
  version: number;
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
 * The statements of tracking at scale: claims by site, and the checks that found nothing new written a batch
 * at a time. The rest of tracking's writes (the changes, one task at a time under its row lock) are
 * DispatchRepository's.
 */
@Injectable()
export class TrackingRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The sites with a tracked task due at `now` and free to claim, the one due longest first. */
  async dueSites(now: Date): Promise<string[]> {
    // Served by task_dispatch_due_idx: only the due rows are read.
    const rows: { site_id: string }[] = await this.db.query(
      `SELECT site_id FROM task
       WHERE ${PHASE_FILTER.track} AND next_check_at <= $1 AND ${FREE}
       GROUP BY site_id ORDER BY min(next_check_at)`,
      [now],
    );
    return rows.map((r) => r.site_id);
  }

  /**
   * Claims a site's free tracked tasks due by `dueBy`, in one statement. Unlike DispatchRepository.claim it
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
    const [rows]: [(Row & { version: number; due_at: Date })[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $3)
       FROM (
         SELECT id AS due_id, next_check_at AS due_at FROM task
         WHERE site_id = $5 AND ${PHASE_FILTER.track} AND ${FREE} AND next_check_at <= $2
         ORDER BY next_check_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED) due
       WHERE task.id = due.due_id
       RETURNING ${COLUMNS}, version, due.due_at`,
      [replica, dueBy, leaseSeconds, limit, siteId],
    );
    rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
    return rows.map((r) => ({ task: toTask(r), version: r.version }));
  }

  /** The listed sites whose walk is due at `now` and free to claim. */
  async dueWalks(now: Date): Promise<string[]> {
    const rows: { site_id: string }[] = await this.db.query(
      `SELECT site_id FROM site_tracking WHERE next_walk_at <= $1 AND ${FREE} ORDER BY next_walk_at`,
      [now],
    );
    return rows.map((r) => r.site_id);
  }

  /**
   * Claims the walk of a listed site for this replica, with a lease, if it is due: its walk time has come, or
   * one of its tasks is due on its own (just submitted, or set due again). One replica walks a site at a time:
   * a second claim waits on the row and then finds it leased, or, after the first walk, nothing due. The
   * walk's back-off so far comes back (null before the first walk); null when not claimed.
   */
  async claimWalk(
    siteId: string,
    replica: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<{ intervalMs: number | null } | null> {
    const rows: { walk_interval_ms: number | null }[] = await this.db.query(
      `INSERT INTO site_tracking AS st (site_id, next_walk_at, claimed_by, lease_until)
       SELECT $1, $2, $3, clock_timestamp() + make_interval(secs => $4)
       WHERE EXISTS (SELECT 1 FROM site_tracking WHERE site_id = $1)
          OR EXISTS (SELECT 1 FROM task WHERE site_id = $1 AND ${PHASE_FILTER.track} AND next_check_at <= $2)
       ON CONFLICT (site_id) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until
       WHERE (st.lease_until IS NULL OR st.lease_until < clock_timestamp())
         AND (st.next_walk_at <= $2 OR EXISTS (
               SELECT 1 FROM task WHERE site_id = $1 AND ${PHASE_FILTER.track} AND next_check_at <= $2))
       RETURNING st.walk_interval_ms`,
      [siteId, now, replica, leaseSeconds],
    );
    return rows.length === 0 ? null : { intervalMs: rows[0].walk_interval_ms };
  }

  /**
   * The free tracked tasks of a site, read without a lock and without their documents: a walk takes a row
   * only when its task changed (claimChanged reads it whole then). The ones due on their own come first (a
   * site with more tasks than one walk reports on covers them first).
   */
  async siteTasks(siteId: string, limit: number): Promise<WalkRow[]> {
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
      [siteId, limit, SITE_PACED_AT],
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
    const [rows]: [(Row & { version: number })[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $2)
       FROM unnest($3::uuid[], $4::integer[]) AS c(changed_id, read_version)
       WHERE task.id = c.changed_id AND task.version = c.read_version AND ${FREE}
       RETURNING ${COLUMNS}, version`,
      [replica, leaseSeconds, checks.map((c) => c.id), checks.map((c) => c.version)],
    );
    return rows.map((r) => ({ task: toTask(r), version: r.version }));
  }

  /** Ends this replica's walk of a site: frees its claim and says when it is walked next. */
  async endWalk(siteId: string, replica: string, nextWalkAt: Date, intervalMs: number): Promise<void> {
    await this.db.query(
      `UPDATE site_tracking SET claimed_by = NULL, lease_until = NULL, next_walk_at = $3, walk_interval_ms = $4
       WHERE site_id = $1 AND claimed_by = $2`,
      [siteId, replica, nextWalkAt, intervalMs],
    );
  }

  /** When the next free site walk falls due; null when none is planned. */
  async nextWalkDue(): Promise<Date | null> {
    const rows: { at: Date | null }[] = await this.db.query(
      `SELECT min(next_walk_at) AS at FROM site_tracking WHERE ${FREE} AND next_walk_at < $1`,
      [SITE_PACED_AT],
    );
    return rows[0]?.at ?? null;
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
   * as DispatchRepository.releaseFailing does one at a time.
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
