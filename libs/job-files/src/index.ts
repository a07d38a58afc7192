export * from './job-files-keys';
export * from './job-files-store';
export * from './job-files-store.factory';
export * from './job-files.service';
export * from './job-files.module';
export * from './upload-timeouts';
