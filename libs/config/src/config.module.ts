import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './app-config';
import { RUNTIME_SECRET_KEY } from './runtime-secret-key';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, secretKey: string): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: RUNTIME_SECRET_KEY, useValue: secretKey },
      ],
      exports: [APP_CONFIG, RUNTIME_SECRET_KEY],
    };
  }
}
