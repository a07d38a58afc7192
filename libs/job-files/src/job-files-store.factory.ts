import type { DataSource } from 'typeorm';
import type { AppConfig } from '@constellation/config';
import { JobFilesStore } from './job-files-store';

/** The store as configured; the dispatch module builds its own over the same database and keys. */
export function jobFilesStore(config: AppConfig, secretKey: string, db: DataSource): JobFilesStore {
  return new JobFilesStore({ db, publicUrl: () => config.publicUrl, secretKey });
}
