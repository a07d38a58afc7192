/**
 * Faithful fakes of the remote sites (GA4GH TES 1.1, Pulsar REST, Pulsar over AMQP) on loopback, shared by
 * the libraries' specs and the end-to-end tests. Test code only: never built into the broker.
 */
export * from './loopback-server';
export * from './fake-tes-site';
export * from './fake-pulsar-site';
export * from './fake-pulsar-amqp';
export * from './fake-s3';
