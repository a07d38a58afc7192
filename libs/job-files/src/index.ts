// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { jobFilesStore } from './job-files-store.factory';
export { JOB_FILES_ENTITIES } from './job-file.entity';
export { JobFilesStore } from './job-files-store';
export { JobFilesService } from './job-files.service';
export { JobFilesModule } from './job-files.module';
export { allowLongUploads } from './upload-timeouts';
export { S3FileBytes, type S3FileBytesOptions } from './s3-file-bytes';
export { FileStoreUnavailable, type JobFileBytes } from './job-file-bytes';
