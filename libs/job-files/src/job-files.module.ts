import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig, RUNTIME_SECRET_KEY } from '@constellation/config';
import { JobFilesController } from './job-files.controller';
import { JobFilesService } from './job-files.service';
import { jobFilesStore } from './job-files-store.factory';

@Module({
  controllers: [JobFilesController],
  providers: [
    {
      provide: JobFilesService,
      useFactory: (config: AppConfig, secretKey: string) =>
        // Outputs are not bounded by the JSON body limit: a task's results can be many gigabytes.
        new JobFilesService(jobFilesStore(config, secretKey), { maxFileBytes: 64 * 1024 ** 3 }),
      inject: [APP_CONFIG, RUNTIME_SECRET_KEY],
    },
  ],
})
export class JobFilesModule {}
