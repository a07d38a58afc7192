import { Logger, Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, RUNTIME_SECRET_KEY } from '@constellation/config';
import { ObservabilityModule } from '@constellation/observability';
import { JobFilesBucket } from './job-files-bucket';
import { JobFilesController } from './job-files.controller';
import { JobFilesService } from './job-files.service';
import { jobFilesStore } from './job-files-store.factory';

@Module({
  imports: [ObservabilityModule],
  controllers: [JobFilesController],
  providers: [
    JobFilesBucket,
    {
      provide: JobFilesService,
      useFactory: (config: AppConfig, secretKey: string, db: DataSource) => {
        const s3 = config.jobFilesS3;
        // Once, at start-up: replicas configured apart cannot read each other's files.
        new Logger('job-files').log(
          s3
            ? { bucket: s3.bucket, endpoint: s3.endpoint ?? 'AWS S3', prefix: s3.prefix }
            : { bytes: 'PostgreSQL' },
          s3 ? 'job files kept in an S3 bucket' : 'job files kept in PostgreSQL',
        );
        // Outputs are not bounded by the JSON body limit: a task's results can be many gigabytes.
        return new JobFilesService(jobFilesStore(config, secretKey, db), { maxFileBytes: 64 * 1024 ** 3 });
      },
      inject: [APP_CONFIG, RUNTIME_SECRET_KEY, getDataSourceToken()],
    },
  ],
})
export class JobFilesModule {}
