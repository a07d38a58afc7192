import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Site self-tests: the last result kept with the site, a `self_test` kind of site event for each run, the
 * one-time files a test job fetches from and delivers to the broker, and pending sites in the probe index
 * (they are probed before approval).
 */
export class SiteSelfTest1765000400000 implements MigrationInterface {
  name = 'SiteSelfTest1765000400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "site" ADD "last_self_test" jsonb`);
    await q.query(`ALTER TABLE "site_event" DROP CONSTRAINT "site_event_kind_check"`);
    await q.query(
      `ALTER TABLE "site_event" ADD CONSTRAINT "site_event_kind_check" CHECK ("kind" IN ('registered', 'updated', 'admin_state', 'health', 'self_test'))`,
    );
    await q.query(`DROP INDEX "site_probe_due_idx"`);
    await q.query(
      `CREATE INDEX "site_probe_due_idx" ON "site" ("next_probe_at") WHERE "admin_state" IN ('pending', 'active', 'draining')`,
    );
    await q.query(`CREATE TABLE "self_test_file" (
      "token" text NOT NULL,
      "site_id" uuid NOT NULL,
      "direction" text NOT NULL,
      "content" bytea,
      "touched_at" timestamptz,
      "expires_at" timestamptz NOT NULL,
      CONSTRAINT "self_test_file_pkey" PRIMARY KEY ("token"),
      CONSTRAINT "self_test_file_direction_check" CHECK ("direction" IN ('input', 'output')),
      CONSTRAINT "self_test_file_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE
    )`);
    await q.query(`CREATE INDEX "self_test_file_expires_at_idx" ON "self_test_file" ("expires_at")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "self_test_file"`);
    await q.query(`DROP INDEX "site_probe_due_idx"`);
    await q.query(
      `CREATE INDEX "site_probe_due_idx" ON "site" ("next_probe_at") WHERE "admin_state" IN ('active', 'draining')`,
    );
    await q.query(`DELETE FROM "site_event" WHERE "kind" = 'self_test'`);
    await q.query(`ALTER TABLE "site_event" DROP CONSTRAINT "site_event_kind_check"`);
    await q.query(
      `ALTER TABLE "site_event" ADD CONSTRAINT "site_event_kind_check" CHECK ("kind" IN ('registered', 'updated', 'admin_state', 'health'))`,
    );
    await q.query(`ALTER TABLE "site" DROP COLUMN "last_self_test"`);
  }
}
