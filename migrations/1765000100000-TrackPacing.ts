import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What tracking needs to pace its status checks per task, shared by every replica and kept across restarts:
 * the current back-off interval and the state the site last reported (a change resets the back-off); and an
 * index that finds an unfinished task by its site's id for it, for status updates a site pushes.
 */
export class TrackPacing1765000100000 implements MigrationInterface {
  name = 'TrackPacing1765000100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "track_interval_ms" integer`);
    await q.query(`ALTER TABLE "task" ADD "remote_state" text`);
    await q.query(
      `CREATE INDEX "task_remote_id_active_idx" ON "task" ("remote_id")
       WHERE "state" IN ('INITIALIZING', 'RUNNING', 'CANCELING')`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "task_remote_id_active_idx"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "remote_state"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "track_interval_ms"`);
  }
}
