import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The broker's take-back of a task stuck in a site queue (docs/dispatch.md, "Taking back a task stuck in a
 * site queue"): how often the task was taken back (task.take_backs), which the attempt limit leaves out as it
 * leaves out preemptions, and when the step last judged the task where it is (task.take_back_looked_at), so a
 * task kept at its site is judged again only after a while.
 */
export class TaskTakeBacks1765003300000 implements MigrationInterface {
  name = 'TaskTakeBacks1765003300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "take_backs" integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "task" ADD "take_back_looked_at" timestamptz`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" DROP COLUMN "take_back_looked_at"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "take_backs"`);
  }
}
