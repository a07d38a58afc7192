import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A submitter's home data store: placement counts the inputs it cannot attribute to any registered store
 * (a Galaxy task whose files are not visible in it) as read from there.
 */
export class PrincipalHomeDataStore1765000701000 implements MigrationInterface {
  name = 'PrincipalHomeDataStore1765000701000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "principal" ADD "home_data_store_id" uuid`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "principal" DROP COLUMN "home_data_store_id"`);
  }
}
