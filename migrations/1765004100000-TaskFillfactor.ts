import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Room in each page of `task` for a row's next version: an update that changes no indexed column (a claim of
 * a running task for its status, a lease renewed or handed back) can then be a HOT update, written in the
 * same page with no new entry in any of the table's thirteen indexes, rather than one entry in each. Pages
 * packed full (the default, 100) left no room, and almost every update went to another page (7 % HOT in
 * bench:dispatch). Only pages written from now on get the room; VACUUM FULL or pg_repack would give it to
 * the pages already there.
 */
export class TaskFillfactor1765004100000 implements MigrationInterface {
  name = 'TaskFillfactor1765004100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" SET (fillfactor = 80)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" RESET (fillfactor)`);
  }
}
