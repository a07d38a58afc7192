import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigModule } from '@constellation/config';
import { LoggingModule, ObservabilityModule } from '@constellation/observability';
import { dataSourceOptions } from '@constellation/persistence';
import { RuntimeOptions, RUNTIME_SECRET_KEY } from './runtime-options';
import { ENTITIES, MIGRATIONS } from './schema';

@Module({})
export class AppModule {
  static forRoot(runtime: RuntimeOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(runtime.config),
        LoggingModule.forRoot(runtime.config.logLevel),
        TypeOrmModule.forRoot(dataSourceOptions(runtime.databaseUrl, ENTITIES, MIGRATIONS)),
        ObservabilityModule,
      ],
      providers: [{ provide: RUNTIME_SECRET_KEY, useValue: runtime.secretKey }],
    };
  }
}
