import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How a site runs the executors' images (issue 13): whether a site without a container runtime (`none`) may run
 * them on its host, and where Singularity/Apptainer keep pulled images or find them on CVMFS.
 */
export class SiteImageSettings1764000800000 implements MigrationInterface {
  name = 'SiteImageSettings1764000800000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "site" ADD COLUMN "run_images_on_host" boolean NOT NULL DEFAULT false,
         ADD COLUMN "image_cache_dir" text,
         ADD COLUMN "cvmfs_image_root" text`,
    );
    // Sites registered before the flag existed ran every task on their host with `none`; they keep doing so,
    // so that tasks already queued for them stay feasible. New sites must declare it.
    await q.query(`UPDATE "site" SET "run_images_on_host" = true WHERE 'none' = ANY ("runtimes")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "site" DROP COLUMN "cvmfs_image_root", DROP COLUMN "image_cache_dir",
         DROP COLUMN "run_images_on_host"`,
    );
  }
}
