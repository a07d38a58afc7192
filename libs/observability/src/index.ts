export * from './logging.module';
export * from './metrics.service';
export * from './observability.module';
export * from './request-log.hook';
export * from './cluster-metrics';
export * from './broker-logger';
