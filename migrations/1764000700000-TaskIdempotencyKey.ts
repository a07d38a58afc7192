import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency-Key on task creation: one row per submitter and key, naming the task the key created and a
 * hash of the request body it came with. The primary key is what makes two simultaneous requests with one
 * key create one task. Rows go with their task and their principal; the daily purge drops rows older than
 * a day by `created_at`.
 */
export class TaskIdempotencyKey1764000700000 implements MigrationInterface {
  name = 'TaskIdempotencyKey1764000700000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "task_idempotency_key" (
      "principal_id" uuid NOT NULL,
      "key" text NOT NULL,
      "request_hash" bytea NOT NULL,
      "task_id" uuid NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "task_idempotency_key_pkey" PRIMARY KEY ("principal_id", "key"))`);
    await q.query(
      `CREATE INDEX "task_idempotency_key_created_at_idx" ON "task_idempotency_key" ("created_at")`,
    );
    // Deleting a task (the retention purge) finds its key through this index, not by a scan.
    await q.query(`CREATE INDEX "task_idempotency_key_task_id_idx" ON "task_idempotency_key" ("task_id")`);
    await q.query(`ALTER TABLE "task_idempotency_key" ADD CONSTRAINT "task_idempotency_key_task_id_fkey"
      FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`ALTER TABLE "task_idempotency_key" ADD CONSTRAINT "task_idempotency_key_principal_id_fkey"
      FOREIGN KEY ("principal_id") REFERENCES "principal"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "task_idempotency_key"`);
  }
}
