import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTransientRetry } from '@constellation/persistence';
import type { SiteLiveEvent, TaskLiveEvent } from './live-event';

export interface LoggedTaskEvent {
  id: string;
  loggedAt: Date;
  event: TaskLiveEvent;
}

/** At most this many task events per read: a burst is read over several polls rather than in one go. */
const BATCH = 5000;

/** What the change feed reads: recent task events, and the sites' announced fields. */
@Injectable()
export class ChangeFeedRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The database's clock: the feed's time, whatever the replicas' clocks say. */
  async now(): Promise<Date> {
    const [row] = await this.read<{ now: Date }>('SELECT clock_timestamp() AS now', []);
    return new Date(row.now);
  }

  /** Task events written after `since` (task_event_logged_at_idx), oldest first. */
  async taskEventsSince(since: Date): Promise<LoggedTaskEvent[]> {
    const rows = await this.read<{
      id: string;
      logged_at: Date;
      task_id: string;
      submitter_id: string;
      kind: string;
      from_state: string | null;
      to_state: string;
      site_id: string | null;
      attempt: number;
      created_at: Date;
    }>(
      `SELECT e.id, e.logged_at, e.task_id, t.submitter_id, e.kind, e.from_state, e.to_state, e.site_id,
              e.attempt, e.created_at
         FROM task_event e JOIN task t ON t.id = e.task_id
        WHERE e.logged_at > $1
        ORDER BY e.logged_at, e.id
        LIMIT ${BATCH}`,
      [since],
    );
    return rows.map((r) => ({
      id: r.id,
      loggedAt: new Date(r.logged_at),
      event: {
        type: 'task',
        task_id: r.task_id,
        submitter_id: r.submitter_id,
        kind: r.kind,
        from: r.from_state,
        to: r.to_state,
        site_id: r.site_id,
        attempt: r.attempt,
        time: new Date(r.created_at).toISOString(),
      },
    }));
  }

  /** Every site's health, admin state and load (a few hundred rows at most: the Network's size). */
  async sites(now: Date): Promise<SiteLiveEvent[]> {
    const rows = await this.read<{
      id: string;
      slug: string;
      admin_state: string;
      health: string;
      running_tasks: number;
      queued_tasks: number;
      max_concurrent_tasks: number;
    }>(
      `SELECT id, slug, admin_state, health, running_tasks, queued_tasks, max_concurrent_tasks FROM site`,
      [],
    );
    return rows.map((r) => ({
      type: 'site',
      site_id: r.id,
      slug: r.slug,
      admin_state: r.admin_state,
      health: r.health,
      running: r.running_tasks,
      queued: r.queued_tasks,
      max_concurrent_tasks: r.max_concurrent_tasks,
      time: now.toISOString(),
    }));
  }

  private read<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    return withTransientRetry(() => this.db.query(sql, params), { label: 'change feed read' });
  }
}
