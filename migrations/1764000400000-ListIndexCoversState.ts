import { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'task_submitter_id_id_idx';
/** The new index's name while it is built beside the old one. */
const NEXT = 'task_submitter_id_id_next';

/**
 * A submitter's task list, newest first, reads the (submitter_id, id) index; with `state` stored in that
 * index too, a MINIMAL page (id and state) is read from the index alone. Without it the planner walked the
 * primary key and skipped every other submitter's tasks, ten rows read per row listed with ten submitters.
 */
export class ListIndexCoversState1764000400000 implements MigrationInterface {
  name = 'ListIndexCoversState1764000400000';
  // The index is rebuilt CONCURRENTLY, which PostgreSQL refuses inside a transaction: a plain DROP and CREATE
  // would lock the task table, reads included, for as long as the build takes on a large table.
  transaction = false;

  // The new index is built beside the old one, then they are swapped, so lists keep an index all along.
  public async up(q: QueryRunner): Promise<void> {
    // A build that failed halfway leaves an invalid index under the temporary name; start again without it.
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${NEXT}"`);
    await q.query(`CREATE INDEX CONCURRENTLY "${NEXT}" ON "task" ("submitter_id", "id") INCLUDE ("state")`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${INDEX}"`);
    await q.query(`ALTER INDEX "${NEXT}" RENAME TO "${INDEX}"`);
  }

  // TypeORM reverts every migration inside a transaction, so the way back rebuilds the index plainly: the
  // table is locked while it builds, which a revert (done in maintenance) can afford.
  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "${INDEX}"`);
    await q.query(`CREATE INDEX "${INDEX}" ON "task" ("submitter_id", "id")`);
  }
}
