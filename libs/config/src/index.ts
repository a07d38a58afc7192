export * from './app-config';
export * from './config-error';
export * from './load-config';
export * from './config.module';
export * from './runtime-secret-key';
