import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TesState } from '@constellation/tes';
import { COLUMNS, DispatchTask, PHASE_FILTER, Row, toTask } from './dispatch.repository';

/**
 * First key of the advisory locks under which one replica at a time claims a listed site's tasks (the second
 * is the site's id, hashed): two replicas claiming the same site at once would each take part of it and both
 * walk its list.
 */
const SITE_CLAIM_LOCK = 41_711_903;

const FREE = '(lease_until IS NULL OR lease_until < clock_timestamp())';

/** A task claimed for a status check, with the version its row had then. */
export interface ClaimedCheck {
  task: DispatchTask;
  version: number;
}

/** How one site's tasks are claimed. */
export interface SiteClaim {
  /** Tasks due this much later than `now` are taken too (one answer from the site covers them all). */
  soonMs: number;
  limit: number;
  /** Under the site's claim lock: another replica claiming the site now makes this claim take nothing. */
  exclusive: boolean;
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
   * Claims a site's free tracked tasks due by `now` + `soonMs`, in one statement, if one of them is due by
   * `now`: a replica that comes to a site another has just checked finds none due, and takes nothing. Unlike
   * DispatchRepository.claim it leaves `next_check_at` as it is: the claim then changes no indexed column, so
   * PostgreSQL may write it without touching the task table's many indexes (a HOT update); other claims skip
   * the leased rows by their lease, and the check's own write moves the next check.
   */
  async claimSite(
    siteId: string,
    replica: string,
    now: Date,
    leaseSeconds: number,
    how: SiteClaim,
  ): Promise<ClaimedCheck[]> {
    return this.db.transaction(async (m) => {
      if (how.exclusive) {
        const [{ locked }]: { locked: boolean }[] = await m.query(
          'SELECT pg_try_advisory_xact_lock($1::integer, hashtext($2::text)) AS locked',
          [SITE_CLAIM_LOCK, siteId],
        );
        if (!locked) return [];
      }
      // Served by task_site_id_active_idx. TypeORM answers an UPDATE ... RETURNING with [rows, affected].
      const [rows]: [(Row & { version: number; due_at: Date })[], number] = await m.query(
        `UPDATE task SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $3)
         FROM (
           SELECT id AS due_id, next_check_at AS due_at FROM task
           WHERE site_id = $5 AND ${PHASE_FILTER.track} AND ${FREE}
             AND next_check_at <= $2::timestamptz + make_interval(secs => $6::float8 / 1000)
             AND EXISTS (SELECT 1 FROM task d
                         WHERE d.site_id = $5 AND ${PHASE_FILTER.track} AND d.next_check_at <= $2 AND ${FREE})
           ORDER BY next_check_at
           LIMIT $4
           FOR UPDATE SKIP LOCKED) due
         WHERE task.id = due.due_id
         RETURNING ${COLUMNS}, version, due.due_at`,
        [replica, now, leaseSeconds, how.limit, siteId, how.soonMs],
      );
      rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
      return rows.map((r) => ({ task: toTask(r), version: r.version }));
    });
  }

  /**
   * Writes many checks that found nothing new in one statement, and frees their claims, without a new
   * version (clients see nothing change). A row this replica no longer holds, or that changed since it was
   * claimed (a cancel request), is left alone: the ids written come back, and the caller decides the others
   * one by one under their row locks.
   */
  async writeQuiet(replica: string, checks: readonly QuietCheck[]): Promise<Set<string>> {
    if (checks.length === 0) return new Set();
    const [rows]: [{ id: string }[], number] = await this.db.query(
      `UPDATE task t SET claimed_by = NULL, lease_until = NULL, next_check_at = q.next_check_at,
              failing_since = NULL,
              track_interval_ms = COALESCE(q.interval_ms, t.track_interval_ms),
              remote_state = COALESCE(q.remote_state, t.remote_state)
       FROM unnest($2::uuid[], $3::integer[], $4::timestamptz[], $5::integer[], $6::text[])
            AS q(id, version, next_check_at, interval_ms, remote_state)
       WHERE t.id = q.id AND t.claimed_by = $1 AND t.version = q.version
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
