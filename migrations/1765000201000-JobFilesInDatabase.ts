import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Job files of Pulsar AMQP sites move from a local folder into PostgreSQL, so any replica can receive an
 * upload and any other deliver it (no shared folder): files, their chunks (written once), and the tombstones
 * of removed jobs that refuse late uploads.
 */
export class JobFilesInDatabase1765000201000 implements MigrationInterface {
  name = 'JobFilesInDatabase1765000201000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "job_file" (
      "id" uuid NOT NULL,
      "job_id" text NOT NULL,
      "kind" text NOT NULL,
      "path" text NOT NULL,
      "size" bigint NOT NULL DEFAULT 0,
      "complete" boolean NOT NULL DEFAULT false,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "job_file_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "job_file_job_id_kind_path_idx" ON "job_file" ("job_id", "kind", "path")`);
    await q.query(`CREATE TABLE "job_file_chunk" (
      "file_id" uuid NOT NULL,
      "chunk_index" integer NOT NULL,
      "data" bytea NOT NULL,
      CONSTRAINT "job_file_chunk_pkey" PRIMARY KEY ("file_id", "chunk_index"))`);
    await q.query(`ALTER TABLE "job_file_chunk" ADD CONSTRAINT "job_file_chunk_file_id_fkey"
      FOREIGN KEY ("file_id") REFERENCES "job_file"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`CREATE TABLE "job_files_removed" (
      "job_id" text NOT NULL,
      "removed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "job_files_removed_pkey" PRIMARY KEY ("job_id"))`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "job_files_removed"`);
    await q.query(`DROP TABLE "job_file_chunk"`);
    await q.query(`DROP TABLE "job_file"`);
  }
}
