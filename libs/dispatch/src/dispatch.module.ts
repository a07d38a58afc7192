import { Global, Module } from '@nestjs/common';
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
import {
  PLACEMENT_PREVIEW,
  PlacementPreview,
  SITE_INPUT_SCHEMES,
  SiteInputSchemes,
} from '@constellation/tes';
import { adapterProber, probeTimeoutMs } from './adapter-prober';
import { AbandonedCopiesService } from './abandoned-copies.service';
import { AbandonedCopyRepository } from './abandoned-copy.repository';
import { CancellationService } from './cancellation.service';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchRepository } from './dispatch.repository';
import { DispatchLoop } from './dispatch.loop';
import { instrumentedAdapter } from './instrumented-adapter';
import { PlacementService } from './placement.service';
import { ProbeLoop } from './probe.loop';
import { ProbeService, SITE_PROBER } from './probe.service';
import { DispatchSites } from './dispatch-sites';
import { CompletionLearning } from './estimates/completion-learning';
import { EstimateStore } from './estimates/estimate.store';
import { EstimatesController } from './estimates/estimates.controller';
import { EstimatesService } from './estimates/estimates.service';
import { headSizeResolver, HeadSizeResolver } from './sizing/head-size-resolver';
import { SubmissionService } from './submission.service';
import { TrackingService } from './tracking.service';

/** Every site kind this broker can submit to; a kind missing here is never placed on. */
function adapterRegistry(config: AppConfig, secretKey: string, metrics: DispatchMetrics): SiteAdapters {
  // Each exchange stays well inside a dispatch lease: a submission's few calls must fit in one.
  const timeoutMs = probeTimeoutMs(config);
  const amqp = new PulsarAmqpSiteAdapter({
    timeoutMs,
    defaultAmqpUrl: config.amqpUrl,
    reconcileSeconds: config.amqpReconcileSeconds,
    fileRoots: config.fileRoots,
    jobFiles: jobFilesStore(config, secretKey),
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

/** Needs ScheduleModule.forRoot() once in the application (apps/broker). */
@Module({
  imports: [RegistryModule, ObservabilityModule],
  controllers: [EstimatesController],
  providers: [
    {
      provide: SiteAdapters,
      useFactory: adapterRegistry,
      inject: [APP_CONFIG, RUNTIME_SECRET_KEY, DispatchMetrics],
    },
    DispatchSites,
    { provide: HeadSizeResolver, useFactory: headSizeResolver, inject: [APP_CONFIG] },
    EstimateStore,
    EstimatesService,
    CompletionLearning,
    DispatchRepository,
    DispatchMetrics,
    PlacementService,
    SubmissionService,
    TrackingService,
    CancellationService,
    AbandonedCopyRepository,
    AbandonedCopiesService,
    DispatchLoop,
    ProbeService,
    ProbeLoop,
    {
      provide: SITE_PROBER,
      useFactory: adapterProber,
      inject: [SiteAdapters, DispatchSites],
    },
  ],
  exports: [ProbeService, DispatchLoop, PlacementService, SiteAdapters, DispatchSites, DispatchRepository],
})
export class DispatchModule {}

/**
 * What the TES library serves but cannot compute itself, since tes does not import dispatch: the site schemes
 * its service-info lists and the placement preview of a queued task. Global, so TesModule finds them, and
 * nothing else of dispatch becomes global.
 */
@Global()
@Module({
  imports: [DispatchModule],
  providers: [
    {
      provide: SITE_INPUT_SCHEMES,
      useFactory:
        (directory: DispatchSites): SiteInputSchemes =>
        () =>
          directory.inputSchemes(),
      inject: [DispatchSites],
    },
    {
      provide: PLACEMENT_PREVIEW,
      useFactory:
        (repo: DispatchRepository, placement: PlacementService): PlacementPreview =>
        async (taskId) => {
          const task = await repo.find(taskId);
          return task === null ? null : { ...(await placement.preview(task)) };
        },
      inject: [DispatchRepository, PlacementService],
    },
  ],
  exports: [SITE_INPUT_SCHEMES, PLACEMENT_PREVIEW],
})
export class DispatchForTesModule {}
