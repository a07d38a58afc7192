import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether input sizing may HEAD a data store's URLs whose query carries a credential: off for every store
 * that exists, as the broker behaved before.
 */
export class DataStoreHeadSignedUrls1765001400000 implements MigrationInterface {
  name = 'DataStoreHeadSignedUrls1765001400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "data_store" ADD "head_signed_urls" boolean NOT NULL DEFAULT false`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "data_store" DROP COLUMN "head_signed_urls"`);
  }
}
