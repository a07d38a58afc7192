// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { BrokerLogger } from './broker-logger';
export { serveClusterMetrics } from './cluster-metrics';
export { LoggingModule, REQUEST_LINE_LOGGER, prettyLogs } from './logging.module';
export { MetricsService } from './metrics.service';
export { ObservabilityModule } from './observability.module';
export { ReadinessChecks, type ReadinessCheck } from './readiness-checks';
export { RequestLogHook, labelRoute, pathOf } from './request-log.hook';
