import { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'task_track_due_idx';

/**
 * Tracking asks, many times a second on every replica, which sites have a tracked task due and when the next
 * one falls due: tasks sent to their site (a remote id) and not being delivered, in due order. The due index
 * of unfinished tasks also holds every task placed and not yet sent, all due from their placement on, so
 * while a burst waited to be sent both questions stepped over that whole backlog first (600 pages read to
 * find the next due time, in bench:dispatch's burst). This index holds the tracked tasks alone, with the
 * tracking phase's filter as its predicate.
 */
export class TaskTrackDueIndex1765004102000 implements MigrationInterface {
  name = 'TaskTrackDueIndex1765004102000';
  // Built CONCURRENTLY, which PostgreSQL refuses inside a transaction: a plain build would lock the task
  // table, reads included, while it runs on a large table.
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // A build that failed halfway leaves an invalid index; start again without it.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${INDEX}"`);
    await q.query(
      `CREATE INDEX CONCURRENTLY "${INDEX}" ON "task" ("next_check_at")
       WHERE "state" IN ('INITIALIZING', 'RUNNING') AND "remote_id" IS NOT NULL AND "delivery_tries" IS NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "${INDEX}"`);
  }
}
