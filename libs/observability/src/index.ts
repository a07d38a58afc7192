export * from './logging.module';
export * from './metrics.service';
export * from './observability.module';
export * from './request-log.middleware';
export * from './cluster-metrics';
export * from './broker-logger';
