export * from './site-adapter';
export * from './site-adapters';
export { TesSiteAdapter, type TesSiteAdapterOptions } from './tes/tes.adapter';
export { PulsarRestSiteAdapter, type PulsarRestSiteAdapterOptions } from './pulsar-rest/pulsar-rest.adapter';
export {
  PulsarAmqpSiteAdapter,
  pulsarQueue,
  type PulsarAmqpSiteAdapterOptions,
} from './pulsar-amqp/pulsar-amqp.adapter';
export type { JobFilesPort, SpooledFile } from './pulsar-amqp/job-files-port';
