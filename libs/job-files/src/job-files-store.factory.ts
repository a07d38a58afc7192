import type { AppConfig } from '@constellation/config';
import { JobFilesStore } from './job-files-store';

/** The store as configured; the dispatch module builds its own with the same folder and keys. */
export function jobFilesStore(config: AppConfig, secretKey: string): JobFilesStore {
  return new JobFilesStore({ dataDir: config.dataDir, publicUrl: () => config.publicUrl, secretKey });
}
