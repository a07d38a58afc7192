import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What dispatch keeps per task beyond the TES document: sites excluded after failed attempts, preemptions
 * retried, when the task last entered the queue, since when its site has been failing, and one partial index over the work that is still due.
 */
export class TaskDispatch1764000300000 implements MigrationInterface {
  name = 'TaskDispatch1764000300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "excluded_site_ids" uuid array NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE "task" ADD "preemptions" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "task" ADD "queued_at" TIMESTAMP WITH TIME ZONE`);
    // Since when the task's site has failed to answer about it: bounds how long dispatch keeps retrying.
    await q.query(`ALTER TABLE "task" ADD "failing_since" TIMESTAMP WITH TIME ZONE`);
    // The dispatch loops look only at unfinished tasks whose next step is due; finished ones (nearly all
    // rows, in time) stay out of this index.
    await q.query(
      `CREATE INDEX "task_dispatch_due_idx" ON "task" ("next_check_at")
       WHERE "state" IN ('INITIALIZING', 'RUNNING', 'CANCELING')`,
    );
    await q.query(`CREATE INDEX "task_site_id_active_idx" ON "task" ("site_id")
       WHERE "state" IN ('INITIALIZING', 'RUNNING', 'CANCELING')`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "task_site_id_active_idx"`);
    await q.query(`DROP INDEX "task_dispatch_due_idx"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "failing_since"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "queued_at"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "preemptions"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "excluded_site_ids"`);
  }
}
