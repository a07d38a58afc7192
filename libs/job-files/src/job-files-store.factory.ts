import type { DataSource } from 'typeorm';
import type { AppConfig } from '@constellation/config';
import { JobFilesStore } from './job-files-store';
import { S3FileBytes } from './s3-file-bytes';

/**
 * The store as configured: bytes in the S3 bucket when CONSTELLATION_JOB_FILES_S3_BUCKET is set, in
 * PostgreSQL otherwise. The dispatch module builds its own over the same database, bucket and keys.
 */
export function jobFilesStore(config: AppConfig, secretKey: string, db: DataSource): JobFilesStore {
  const s3 = config.jobFilesS3;
  return new JobFilesStore({
    db,
    publicUrl: () => config.publicUrl,
    secretKey,
    bytes: s3 && new S3FileBytes(s3),
  });
}
