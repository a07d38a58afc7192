// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { APP_CONFIG, LOG_FORMATS, type AppConfig, type LogFormat, type LogLevel } from './app-config';
export { ConfigError } from './config-error';
export { ConfigModule } from './config.module';
export { loadConfig } from './load-config';
export { RUNTIME_SECRET_KEY } from './runtime-secret-key';
