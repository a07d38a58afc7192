import { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'task_submit_due_idx';

/**
 * Submission claims the placed tasks not yet sent (INITIALIZING, no remote id), oldest due first, a batch at a
 * time. No index held them in due order: the claim read every task waiting to be sent through the index of
 * unfinished remote ids, sorted them all and kept a batch (3,000 read and sorted for 26 claimed, 15 ms, in
 * bench:dispatch's burst), so a backlog cost its size on every claim. Here the claim reads its batch in order
 * and stops. A task has an entry only between its placement and its submission.
 */
export class TaskSubmitDueIndex1765004101000 implements MigrationInterface {
  name = 'TaskSubmitDueIndex1765004101000';
  // Built CONCURRENTLY, which PostgreSQL refuses inside a transaction: a plain build would lock the task
  // table, reads included, while it runs on a large table.
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // A build that failed halfway leaves an invalid index; start again without it.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${INDEX}"`);
    await q.query(
      `CREATE INDEX CONCURRENTLY "${INDEX}" ON "task" ("next_check_at")
       WHERE "state" = 'INITIALIZING' AND "remote_id" IS NULL AND "site_id" IS NOT NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "${INDEX}"`);
  }
}
