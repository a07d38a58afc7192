import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';

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

/** A copy to stop, as the abandoned-copies step claims it. */
export interface AbandonedCopy {
  id: string;
  taskId: string;
  siteId: string;
  attempt: number;
  remoteId: string | null;
  reason: string;
  createdAt: Date;
  tries: number;
}

interface Row {
  id: string;
  task_id: string;
  site_id: string;
  attempt: number;
  remote_id: string | null;
  reason: string;
  created_at: Date;
  tries: number;
}

/** The SQL behind the abandoned-copies step; rows are written by `record`, beside the task change that leaves them. */
@Injectable()
export class AbandonedCopyRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims due copies at sites other than `offlineSiteIds` (a dead site costs nothing until a probe finds it
   * up again; the registry says which are offline), with a lease on the database's clock, as the task claims do.
   */
  async claim(
    replica: string,
    now: Date,
    leaseSeconds: number,
    limit: number,
    offlineSiteIds: readonly string[],
  ): Promise<AbandonedCopy[]> {
    const [rows]: [Row[], number] = await this.db.query(
      `UPDATE abandoned_copy SET claimed_by = $1,
              lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id IN (
         SELECT id FROM abandoned_copy
         WHERE next_check_at <= $2 AND NOT (site_id = ANY($5::uuid[]))
           AND (lease_until IS NULL OR lease_until < clock_timestamp())
         ORDER BY next_check_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED)
       RETURNING id, task_id, site_id, attempt, remote_id, reason, created_at, tries`,
      [replica, now, leaseSeconds, limit, offlineSiteIds],
    );
    return rows.map((r) => ({
      id: r.id,
      taskId: r.task_id,
      siteId: r.site_id,
      attempt: r.attempt,
      remoteId: r.remote_id,
      reason: r.reason,
      createdAt: r.created_at,
      tries: r.tries,
    }));
  }

  /**
   * Extends this replica's lease on a copy it works on (a slow site's calls); false once the claim is no
   * longer its own: the visit must then record nothing.
   */
  async renew(id: string, replica: string, leaseSeconds: number): Promise<boolean> {
    const [, affected]: [unknown[], number] = await this.db.query(
      `UPDATE abandoned_copy SET lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id = $1 AND claimed_by = $2 AND lease_until > clock_timestamp()`,
      [id, replica, leaseSeconds],
    );
    return affected > 0;
  }

  /** Hands a copy back unvisited, due at once, if this replica still holds it. */
  async release(id: string, replica: string): Promise<void> {
    await this.db.query(
      `UPDATE abandoned_copy SET claimed_by = NULL, lease_until = NULL, next_check_at = clock_timestamp()
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica],
    );
  }

  /** The copy is dealt with: forget it, if this replica still holds the claim. */
  async settle(id: string, replica: string): Promise<void> {
    await this.db.query('DELETE FROM abandoned_copy WHERE id = $1 AND claimed_by = $2', [id, replica]);
  }

  /** Not settled this time: look again at `nextCheckAt`. */
  async postpone(id: string, replica: string, nextCheckAt: Date): Promise<void> {
    await this.db.query(
      `UPDATE abandoned_copy SET claimed_by = NULL, lease_until = NULL, next_check_at = $3, tries = tries + 1
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica, nextCheckAt],
    );
  }

  /** Remembers a copy to stop that no task change leaves (one a step tried to stop at once, and could not). */
  async leave(taskId: string, a: AbandonNote, now: Date): Promise<void> {
    await this.record(this.db.manager, taskId, a, now);
  }

  /** Remembers a copy the task leaves at a site, in the transaction of the task change that leaves it. */
  async record(m: EntityManager, taskId: string, a: AbandonNote, now: Date): Promise<void> {
    await m.query(
      `INSERT INTO abandoned_copy (id, task_id, site_id, attempt, remote_id, reason, created_at, next_check_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [newId(), taskId, a.siteId, a.attempt, a.remoteId, a.reason.slice(0, 2000), now, a.dueAt ?? now],
    );
  }
}
