import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-site request budget of tracking (CONSTELLATION_SITE_REQUESTS_PER_SECOND), shared by every replica on
 * the database: a token bucket per site, refilled by time, taken a pass's worth at a time by one UPDATE, and the
 * end of the queue of turns handed out to the checks the bucket could not take. Kept in memory per replica
 * before, so N replicas asked a site N times the budget. Dispatch owns the table; a site's row goes with it.
 */
export class SiteRequestBudget1765002200000 implements MigrationInterface {
  name = 'SiteRequestBudget1765002200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "site_request_budget" (
        "site_id" uuid NOT NULL,
        "tokens" double precision NOT NULL,
        "refilled_at" timestamptz NOT NULL,
        "next_turn_at" timestamptz NOT NULL,
        "version" integer NOT NULL DEFAULT 0,
        CONSTRAINT "site_request_budget_pkey" PRIMARY KEY ("site_id"),
        CONSTRAINT "site_request_budget_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE
      )`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "site_request_budget"`);
  }
}
