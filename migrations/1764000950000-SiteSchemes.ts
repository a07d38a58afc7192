import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The URL schemes each site fetches inputs from and pushes outputs to, recorded by its last successful
 * probe: placement reads them instead of asking the site, and service-info's `storage` lists their union.
 */
export class SiteSchemes1764000950000 implements MigrationInterface {
  name = 'SiteSchemes1764000950000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "site" ADD "input_schemes" text array`);
    await q.query(`ALTER TABLE "site" ADD "output_schemes" text array`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "site" DROP COLUMN "output_schemes"`);
    await q.query(`ALTER TABLE "site" DROP COLUMN "input_schemes"`);
  }
}
