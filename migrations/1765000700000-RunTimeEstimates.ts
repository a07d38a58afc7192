import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What placement learns from finished attempts, shared by every replica and kept across restarts: run-time
 * statistics per tool fingerprint and per fingerprint and site, and per site its speed, throughput and the
 * last queue and run times.
 */
export class RunTimeEstimates1765000700000 implements MigrationInterface {
  name = 'RunTimeEstimates1765000700000';

  public async up(q: QueryRunner): Promise<void> {
    const stats = `"runs" double precision NOT NULL,
      "sx" double precision NOT NULL,
      "sy" double precision NOT NULL,
      "sxx" double precision NOT NULL,
      "sxy" double precision NOT NULL,
      "syy" double precision NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL`;
    await q.query(`CREATE TABLE "tool_estimate" (
      "fingerprint" text NOT NULL,
      "label" text NOT NULL,
      ${stats},
      CONSTRAINT "tool_estimate_pkey" PRIMARY KEY ("fingerprint"))`);
    await q.query(`CREATE TABLE "tool_site_estimate" (
      "fingerprint" text NOT NULL,
      "site_id" uuid NOT NULL,
      ${stats},
      CONSTRAINT "tool_site_estimate_pkey" PRIMARY KEY ("fingerprint", "site_id"))`);
    await q.query(`CREATE INDEX "tool_site_estimate_site_id_idx" ON "tool_site_estimate" ("site_id")`);
    await q.query(`ALTER TABLE "tool_site_estimate" ADD CONSTRAINT "tool_site_estimate_site_id_fkey"
      FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`CREATE TABLE "site_estimate" (
      "site_id" uuid NOT NULL,
      "speed_runs" double precision NOT NULL,
      "log_speed_sum" double precision NOT NULL,
      "core_run_sum" double precision NOT NULL,
      "core_sum" double precision NOT NULL,
      "recent_queue_s" double precision array NOT NULL DEFAULT '{}',
      "recent_run_s" double precision array NOT NULL DEFAULT '{}',
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "site_estimate_pkey" PRIMARY KEY ("site_id"))`);
    await q.query(`ALTER TABLE "site_estimate" ADD CONSTRAINT "site_estimate_site_id_fkey"
      FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "site_estimate"`);
    await q.query(`DROP TABLE "tool_site_estimate"`);
    await q.query(`DROP TABLE "tool_estimate"`);
  }
}
