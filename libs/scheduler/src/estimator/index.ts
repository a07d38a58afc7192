export * from './galaxy-job-message';
export * from './fingerprint';
export * from './run-time-stats';
export * from './site-stats';
export * from './run-time-estimator';
