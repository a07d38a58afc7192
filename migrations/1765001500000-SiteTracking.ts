import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tracking paces a site that answers for all its tasks in one list (TES) as a whole: when its list is walked
 * next, the walk's back-off, and the lease of the replica walking it. A quiet check then writes this one row
 * per site instead of a row per task (the task table has many indexes, and its quiet writes could not be HOT).
 * Dispatch owns the table; a site's row goes with the site.
 */
export class SiteTracking1765001500000 implements MigrationInterface {
  name = 'SiteTracking1765001500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "site_tracking" (
        "site_id" uuid NOT NULL,
        "next_walk_at" timestamptz NOT NULL,
        "walk_interval_ms" integer,
        "claimed_by" text,
        "lease_until" timestamptz,
        CONSTRAINT "site_tracking_pkey" PRIMARY KEY ("site_id"),
        CONSTRAINT "site_tracking_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE
      )`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    // Tasks left to their site's walk are not due on their own (9999-12-31): without the walks they would
    // never be checked again, so they fall due at once.
    await q.query(`UPDATE "task" SET "next_check_at" = now() WHERE "next_check_at" >= '9999-01-01'`);
    await q.query(`DROP TABLE "site_tracking"`);
  }
}
