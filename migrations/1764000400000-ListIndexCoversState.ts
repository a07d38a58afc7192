import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A submitter's task list, newest first, reads the (submitter_id, id) index; with `state` stored in that
 * index too, a MINIMAL page (id and state) is read from the index alone. Without it the planner walked the
 * primary key and skipped every other submitter's tasks, ten rows read per row listed with ten submitters.
 */
export class ListIndexCoversState1764000400000 implements MigrationInterface {
  name = 'ListIndexCoversState1764000400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "task_submitter_id_id_idx"`);
    await q.query(
      `CREATE INDEX "task_submitter_id_id_idx" ON "task" ("submitter_id", "id") INCLUDE ("state")`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "task_submitter_id_id_idx"`);
    await q.query(`CREATE INDEX "task_submitter_id_id_idx" ON "task" ("submitter_id", "id")`);
  }
}
