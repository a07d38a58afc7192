import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The attempt whose submission a claim last let go out (task.sent_attempt). A claim that finds it already equal
 * to the current attempt knows an earlier send may have made a copy at the site and looks for it first; one
 * that finds anything else is the attempt's first send and skips that request. Existing rows get the current
 * attempt, so every task placed before the upgrade is looked up as before.
 */
export class TaskSentAttempt1765002700000 implements MigrationInterface {
  name = 'TaskSentAttempt1765002700000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "sent_attempt" integer`);
    await q.query(`UPDATE "task" SET "sent_attempt" = "current_attempt" WHERE "state" = 'INITIALIZING'`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" DROP COLUMN "sent_attempt"`);
  }
}
