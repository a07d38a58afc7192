import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each index, and the columns it orders by. */
const INDEXES: Array<[string, string, string]> = [
  // GET /api/v1/tasks, newest first by (created_at, id): for admins without filters or by time alone,
  ['task_created_at_id_idx', 'task', '"created_at", "id"'],
  // by submitter (every submitter's own search),
  ['task_submitter_id_created_at_id_idx', 'task', '"submitter_id", "created_at", "id"'],
  // and by site.
  ['task_site_id_created_at_id_idx', 'task', '"site_id", "created_at", "id"'],
  // GET /api/v1/sites/{ref}/activity finds the tasks that came and went at the site in its window here,
  // instead of scanning the whole history.
  ['task_event_site_id_created_at_idx', 'task_event', '"site_id", "created_at"'],
];

/** Indexes for the task search and the site activity, both of which scanned their tables before. */
export class TaskSearchIndexes1765000600000 implements MigrationInterface {
  name = 'TaskSearchIndexes1765000600000';
  // Built CONCURRENTLY, which PostgreSQL refuses inside a transaction: a plain CREATE would lock the task
  // table, writes included, for as long as the build takes on a large table.
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    for (const [name, table, columns] of INDEXES) {
      // A build that failed halfway leaves an invalid index behind; start again without it.
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "${name}"`);
      await q.query(`CREATE INDEX CONCURRENTLY "${name}" ON "${table}" (${columns})`);
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const [name] of [...INDEXES].reverse()) await q.query(`DROP INDEX "${name}"`);
  }
}
