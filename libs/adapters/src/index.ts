// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { type JobFilesPort, type SpooledFile } from './pulsar-amqp/job-files-port';
export { PulsarAmqpSiteAdapter } from './pulsar-amqp/pulsar-amqp.adapter';
export { PulsarRestSiteAdapter } from './pulsar-rest/pulsar-rest.adapter';
export {
  AdapterError,
  BudgetWait,
  deliveredOutputKey,
  isAdapterError,
  isBudgetWait,
  type AdapterSite,
  type DeliveryProgress,
  type RequestGate,
  type RemoteStatus,
  type SiteAdapter,
  type SubmitJob,
  type StatusMode,
} from './site-adapter';
export { SiteAdapters } from './site-adapters';
export { TesSiteAdapter } from './tes/tes.adapter';
