import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recent demand on each site local to a data store, for its locality price (CONSTELLATION_LOCALITY_PRICE):
 * the core-seconds of the tasks placed in a minute that read data local to the site, per density bucket
 * (input bytes saved per core-second, eight buckets a decade). Written under the placement lock, read and
 * pruned by the placement round; every replica computes the same price from it. Dispatch owns the table. No
 * key to `site`: a deleted site's rows are never read again and leave with the window.
 */
export class LocalityDemand1765004200000 implements MigrationInterface {
  name = 'LocalityDemand1765004200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "locality_demand" (
        "site_id" uuid NOT NULL,
        "minute" timestamptz NOT NULL,
        "density_bucket" smallint NOT NULL,
        "core_s" double precision NOT NULL,
        "bytes" double precision NOT NULL,
        "tasks" integer NOT NULL,
        CONSTRAINT "locality_demand_pkey" PRIMARY KEY ("site_id", "minute", "density_bucket")
      )`,
    );
    await q.query(`CREATE INDEX "locality_demand_minute_idx" ON "locality_demand" ("minute")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "locality_demand"`);
  }
}
