import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  SiteAdapters,
  PulsarAmqpSiteAdapter,
  PulsarRestSiteAdapter,
  TesSiteAdapter,
} from '@constellation/adapters';
import { APP_CONFIG, AppConfig, RUNTIME_SECRET_KEY } from '@constellation/config';
import { jobFilesStore } from '@constellation/job-files';
import { ObservabilityModule } from '@constellation/observability';
import { RegistryModule } from '@constellation/registry';
import { TaskStoreModule } from '@constellation/tes';
import { probeTimeoutMs } from './adapter-prober';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchSites } from './dispatch-sites';
import { instrumentedAdapter } from './instrumented-adapter';
import { RequestBudget } from './request-budget';

/** Every site kind this broker can submit to; a kind missing here is never placed on. */
function adapterRegistry(
  config: AppConfig,
  secretKey: string,
  metrics: DispatchMetrics,
  db: DataSource,
): SiteAdapters {
  // Each exchange stays well inside a dispatch lease: a submission's few calls must fit in one.
  const timeoutMs = probeTimeoutMs(config);
  const amqp = new PulsarAmqpSiteAdapter({
    timeoutMs,
    defaultAmqpUrl: config.amqpUrl,
    reconcileSeconds: config.amqpReconcileSeconds,
    fileRoots: config.fileRoots,
    jobFiles: jobFilesStore(config, secretKey, db),
  });
  const registry = new SiteAdapters(
    [
      new TesSiteAdapter({ timeoutMs }),
      new PulsarRestSiteAdapter({ timeoutMs, fileRoots: config.fileRoots }),
      amqp,
    ].map((adapter) => instrumentedAdapter(adapter, metrics.siteCalls)),
  );
  // Open AMQP connections would keep the process (and jest) alive after the application closed.
  return Object.assign(registry, { onApplicationShutdown: () => amqp.close() });
}

/**
 * The adapters and the sites as they see them, without the loops: dispatch uses them, and so do self-tests,
 * in the broker and in the CLI (which must not start dispatch or probe rounds).
 */
@Module({
  imports: [RegistryModule, ObservabilityModule, TaskStoreModule],
  providers: [
    {
      provide: SiteAdapters,
      useFactory: adapterRegistry,
      inject: [APP_CONFIG, RUNTIME_SECRET_KEY, DispatchMetrics, getDataSourceToken()],
    },
    DispatchSites,
    DispatchMetrics,
    RequestBudget,
  ],
  exports: [SiteAdapters, DispatchSites, DispatchMetrics, RequestBudget],
})
export class SiteAdaptersModule {}
