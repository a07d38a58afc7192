import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TaskTrackingRepository } from '@constellation/tes';
import { SITE_PACED_AT } from './track-pacing';

const FREE = '(lease_until IS NULL OR lease_until < clock_timestamp())';

/**
 * The walks of listed sites (site_tracking): which are due, who walks each, and when each is walked next. The
 * tasks a walk reads and writes are the tes library's (TaskTrackingRepository).
 */
@Injectable()
export class TrackingRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tasks: TaskTrackingRepository,
  ) {}

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
    // Whether a task of the site is due is the tes library's to say: it owns the task table.
    const tasksDue = await this.tasks.siteHasDue(siteId, now);
    const rows: { walk_interval_ms: number | null }[] = await this.db.query(
      `INSERT INTO site_tracking AS st (site_id, next_walk_at, claimed_by, lease_until)
       SELECT $1, $2, $3, clock_timestamp() + make_interval(secs => $4)
       WHERE EXISTS (SELECT 1 FROM site_tracking WHERE site_id = $1) OR $5::boolean
       ON CONFLICT (site_id) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until
       WHERE (st.lease_until IS NULL OR st.lease_until < clock_timestamp()) AND (st.next_walk_at <= $2 OR $5::boolean)
       RETURNING st.walk_interval_ms`,
      [siteId, now, replica, leaseSeconds, tasksDue],
    );
    return rows.length === 0 ? null : { intervalMs: rows[0].walk_interval_ms };
  }

  /** Ends this replica's walk of a site: frees its claim and says when it is walked next. */
  async endWalk(siteId: string, replica: string, nextWalkAt: Date, intervalMs: number): Promise<void> {
    await this.db.query(
      `UPDATE site_tracking SET claimed_by = NULL, lease_until = NULL, next_walk_at = $3, walk_interval_ms = $4
       WHERE site_id = $1 AND claimed_by = $2`,
      [siteId, replica, nextWalkAt, intervalMs],
    );
  }

  /**
   * Extends this replica's lease on the walk it holds (a long walk of a slow site); false once the claim is
   * no longer its own (run out, or taken over): the walk must then write nothing.
   */
  async renewWalk(siteId: string, replica: string, leaseSeconds: number): Promise<boolean> {
    const [, affected]: [unknown[], number] = await this.db.query(
      `UPDATE site_tracking SET lease_until = clock_timestamp() + make_interval(secs => $3)
       WHERE site_id = $1 AND claimed_by = $2 AND lease_until > clock_timestamp()`,
      [siteId, replica, leaseSeconds],
    );
    return affected > 0;
  }

  /** Hands a walk back unfinished, due at once, if this replica still holds it. */
  async releaseWalk(siteId: string, replica: string): Promise<void> {
    await this.db.query(
      `UPDATE site_tracking SET claimed_by = NULL, lease_until = NULL, next_walk_at = clock_timestamp()
       WHERE site_id = $1 AND claimed_by = $2`,
      [siteId, replica],
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
}
