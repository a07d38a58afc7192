import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { MetricsService } from '@constellation/observability';
import { IDEMPOTENCY_KEY_TTL_HOURS } from './idempotency-key';
import { firstIdAt, NIL_ID, PurgeStatements, TaskPurgeRepository } from './task-purge.repository';

/** Rows per statement: each batch holds its row locks for one short transaction. */
export const PURGE_BATCH = 1000;
/** Statements per kind and run: a run that has more to do stops there and says so (`more`). */
export const PURGE_MAX_BATCHES = 100;

export interface PurgeReport {
  tasks: number;
  events: number;
  idempotencyKeys: number;
  /** The run stopped at its bound with rows left to purge. */
  more: boolean;
}

/**
 * Retention: deletes finished tasks (with their events and anything else that references them) that
 * finished more than CONSTELLATION_RETENTION_DAYS ago, if set, and Idempotency-Keys older than a day, in
 * bounded batches, under an advisory lock so that one replica purges at a time.
 */
@Injectable()
export class TaskPurgeService {
  private readonly logger = new Logger('retention');
  private readonly purged: Counter<'table'>;

  constructor(
    private readonly repo: TaskPurgeRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.purged = new Counter({
      name: 'constellation_purged_rows_total',
      help: 'Rows deleted by the retention purge on this replica, by table',
      labelNames: ['table'],
      registers: [metrics.registry],
    });
  }

  /** One purge as of `now`; null when another replica holds the purge lock. */
  async run(now: Date): Promise<PurgeReport | null> {
    const report = await this.repo.withPurgeLock(async (sql) => {
      const r: PurgeReport = { tasks: 0, events: 0, idempotencyKeys: 0, more: false };
      if (this.config.retentionDays !== undefined) {
        await this.purgeTasks(sql, new Date(now.getTime() - this.config.retentionDays * 86_400_000), r);
      }
      await this.purgeKeys(sql, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000), r);
      return r;
    });
    if (report === null) {
      this.logger.log('retention purge skipped: another replica is purging');
      return null;
    }
    this.purged.inc({ table: 'task' }, report.tasks);
    this.purged.inc({ table: 'task_event' }, report.events);
    this.purged.inc({ table: 'task_idempotency_key' }, report.idempotencyKeys);
    const kept =
      this.config.retentionDays === undefined ? 'kept for ever' : `kept ${this.config.retentionDays} days`;
    this.logger.log(
      { purged: report },
      `retention purge removed ${report.tasks} finished tasks (${kept}), ${report.events} task events and ` +
        `${report.idempotencyKeys} expired Idempotency-Keys${report.more ? '; more remain for the next run' : ''}`,
    );
    return report;
  }

  private async purgeTasks(sql: PurgeStatements, finishedBefore: Date, r: PurgeReport): Promise<void> {
    const createdBefore = firstIdAt(finishedBefore);
    let after = NIL_ID;
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const done = await sql.deleteFinishedTasks(after, createdBefore, finishedBefore, PURGE_BATCH);
      r.tasks += done.tasks;
      r.events += done.events;
      if (done.tasks < PURGE_BATCH || done.lastId === null) return;
      after = done.lastId;
    }
    r.more = true;
  }

  private async purgeKeys(sql: PurgeStatements, createdBefore: Date, r: PurgeReport): Promise<void> {
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const n = await sql.deleteIdempotencyKeys(createdBefore, PURGE_BATCH);
      r.idempotencyKeys += n;
      if (n < PURGE_BATCH) return;
    }
    r.more = true;
  }
}
