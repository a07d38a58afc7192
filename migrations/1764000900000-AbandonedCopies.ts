import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One live copy per task: the copies a task left behind at a site (failover, a cancel while the site was
 * offline, a submission whose answer never came) wait in `abandoned_copy` until the broker has stopped them;
 * `task.submit_doubt_at` marks a submission whose answer did not come, so it is looked for before any resend;
 * `task_event.kind` tells the events about such copies from the task's own state changes.
 */
export class AbandonedCopies1764000900000 implements MigrationInterface {
  name = 'AbandonedCopies1764000900000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "abandoned_copy" (
      "id" uuid NOT NULL,
      "task_id" uuid NOT NULL,
      "site_id" uuid NOT NULL,
      "attempt" integer NOT NULL,
      "remote_id" text,
      "reason" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "next_check_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "claimed_by" text,
      "lease_until" TIMESTAMP WITH TIME ZONE,
      "tries" integer NOT NULL DEFAULT 0,
      CONSTRAINT "abandoned_copy_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "abandoned_copy_next_check_at_idx" ON "abandoned_copy" ("next_check_at")`);
    await q.query(`CREATE INDEX "abandoned_copy_task_id_idx" ON "abandoned_copy" ("task_id")`);
    await q.query(`ALTER TABLE "abandoned_copy" ADD CONSTRAINT "abandoned_copy_task_id_fkey"
      FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`ALTER TABLE "abandoned_copy" ADD CONSTRAINT "abandoned_copy_site_id_fkey"
      FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`ALTER TABLE "task" ADD "submit_doubt_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "task_event" ADD "kind" text NOT NULL DEFAULT 'state'`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task_event" DROP COLUMN "kind"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "submit_doubt_at"`);
    await q.query(`DROP TABLE "abandoned_copy"`);
  }
}
