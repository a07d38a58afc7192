import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule, PrincipalAdminModule } from '@constellation/auth';
import { ConfigModule } from '@constellation/config';
import { LoggingModule, ObservabilityModule } from '@constellation/observability';
import { dataSourceOptions } from '@constellation/persistence';
import { TesModule } from '@constellation/tes';
import { RegistryModule } from '@constellation/registry';
import { DispatchModule, DispatchForTesModule, SelfTestModule } from '@constellation/dispatch';
import { JobFilesModule } from '@constellation/job-files';
import { LiveModule } from '@constellation/live';
import { RateLimitModule } from './http/rate-limit.module';
import { AppOptions } from './app-options';
import { ENTITIES, MIGRATIONS } from './schema';

@Module({})
export class AppModule {
  static forRoot(runtime: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(runtime.config, runtime.secretKey),
        LoggingModule.forRoot(runtime.config.logLevel, runtime.config.logFormat),
        TypeOrmModule.forRoot(dataSourceOptions(runtime.databaseUrl, ENTITIES, MIGRATIONS)),
        ObservabilityModule,
        AuthModule,
        // After AuthModule: its guard must run first so the rate limit counts per principal.
        RateLimitModule,
        ScheduleModule.forRoot(),
        TesModule,
        PrincipalAdminModule,
        RegistryModule,
        DispatchModule,
        DispatchForTesModule,
        SelfTestModule,
        JobFilesModule,
        LiveModule,
      ],
    };
  }
}
