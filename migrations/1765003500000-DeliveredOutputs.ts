import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outputs each delivery has written so far, per task and job at the site: a delivery tried again after a
 * destination failed, or taken over from a replica that died, starts after them instead of from the first
 * output. Dispatch owns the table; a task's rows go with it.
 */
export class DeliveredOutputs1765003500000 implements MigrationInterface {
  name = 'DeliveredOutputs1765003500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "delivered_output" (
        "task_id" uuid NOT NULL,
        "remote_id" text NOT NULL,
        "output_key" text NOT NULL,
        "log" jsonb NOT NULL,
        "delivered_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "delivered_output_pkey" PRIMARY KEY ("task_id", "remote_id", "output_key"),
        CONSTRAINT "delivered_output_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE CASCADE
      )`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "delivered_output"`);
  }
}
