import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTransientRetry } from '@constellation/persistence';

const READ = { label: 'site activity read' };

export interface LoadSample {
  at: Date;
  running: number;
}

export interface SiteTaskRow {
  id: string;
  name: string | null;
  state: string;
  createdAt: Date;
}

/** What ran at a site, read from the task history (the registry stores only the current load). */
@Injectable()
export class SiteActivityRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Tasks running at the site at each step from `from` to `to`: a task holds the site from its move to
   * INITIALIZING there until its next move back to QUEUED or to a final state. Only tasks whose span can
   * overlap the window are read, found by index: those with an event at the site since `from` (a start or an
   * end, which carry the site; task_event_site_id_created_at_idx) and those still at the site (a span
   * begun earlier and not yet over; task_site_id_active_idx), rather than the site's whole history.
   */
  async loadSeries(siteId: string, from: Date, to: Date, stepSeconds: number): Promise<LoadSample[]> {
    const rows: { at: Date; running: string }[] = await withTransientRetry(
      () =>
        this.db.query(
          `WITH candidates AS (
             SELECT task_id FROM task_event WHERE site_id = $1 AND created_at >= $2
             UNION
             SELECT id FROM task WHERE site_id = $1 AND state IN ('INITIALIZING', 'RUNNING', 'CANCELING')
           ),
           -- Materialized: inlined, each span's end would be looked up again for every sample it is joined to.
           spans AS MATERIALIZED (
             SELECT e.task_id, e.created_at AS start_at,
                    (SELECT min(n.created_at) FROM task_event n
                      WHERE n.task_id = e.task_id AND n.kind = 'state' AND n.created_at >= e.created_at
                        AND n.id <> e.id
                        AND n.to_state IN ('QUEUED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED')
                    ) AS end_at
               FROM candidates c JOIN task_event e ON e.task_id = c.task_id
              WHERE e.site_id = $1 AND e.kind = 'state' AND e.to_state = 'INITIALIZING' AND e.created_at <= $3
           )
           SELECT b.at, count(s.task_id) AS running
             FROM generate_series($2::timestamptz, $3::timestamptz, make_interval(secs => $4)) AS b(at)
             LEFT JOIN spans s ON s.start_at <= b.at AND (s.end_at IS NULL OR s.end_at > b.at)
            GROUP BY b.at
            ORDER BY b.at`,
          [siteId, from, to, stepSeconds],
        ),
      READ,
    );
    return rows.map((r) => ({ at: new Date(r.at), running: Number(r.running) }));
  }

  /** The latest tasks placed at the site, newest first; only `submitterId`'s unless it is undefined (admins). */
  recentTasks(siteId: string, limit: number, submitterId: string | undefined): Promise<SiteTaskRow[]> {
    return withTransientRetry(async () => {
      const rows: { id: string; name: string | null; state: string; created_at: Date }[] =
        await this.db.query(
          `SELECT id, name, state, created_at FROM task
          WHERE site_id = $1 AND ($2::uuid IS NULL OR submitter_id = $2)
          ORDER BY created_at DESC LIMIT $3`,
          [siteId, submitterId ?? null, limit],
        );
      return rows.map((r) => ({ id: r.id, name: r.name, state: r.state, createdAt: new Date(r.created_at) }));
    }, READ);
  }
}
