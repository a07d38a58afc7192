import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event streams (GET /api/v1/events/stream) read new task events by when they were written, which
 * `created_at` does not say: writers stamp it with their own clock, sometimes long before the insert (a
 * dispatch round's start). `logged_at` is the database's clock at the insert, a few milliseconds before the
 * commit, so a reader that looks a few seconds back misses nothing. (PostgreSQL's NOTIFY would have spared
 * the column, but it serialises the commits of every transaction that notifies: ten times fewer task
 * transitions a second, measured with pgbench.)
 */
export class TaskEventLoggedAt1765000601000 implements MigrationInterface {
  name = 'TaskEventLoggedAt1765000601000';
  // The index is built CONCURRENTLY, which PostgreSQL refuses inside a transaction.
  transaction = false;

  public async up(q: QueryRunner): Promise<void> {
    // Nullable, and the default set apart: with a volatile default, ADD COLUMN would rewrite the table.
    await q.query(`ALTER TABLE "task_event" ADD COLUMN IF NOT EXISTS "logged_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "task_event" ALTER COLUMN "logged_at" SET DEFAULT clock_timestamp()`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS "task_event_logged_at_idx"`);
    await q.query(`CREATE INDEX CONCURRENTLY "task_event_logged_at_idx" ON "task_event" ("logged_at")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "task_event_logged_at_idx"`);
    await q.query(`ALTER TABLE "task_event" DROP COLUMN "logged_at"`);
  }
}
