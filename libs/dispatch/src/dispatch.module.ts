import { Global, Module } from '@nestjs/common';
import { SiteAdapters } from '@constellation/adapters';
import { ObservabilityModule } from '@constellation/observability';
import { RegistryModule } from '@constellation/registry';
import { APP_CONFIG } from '@constellation/config';
import {
  PLACEMENT_PREVIEW,
  PlacementPreview,
  SITE_INPUT_SCHEMES,
  SiteInputSchemes,
  TASK_ARRIVALS,
  TaskArrivals,
  TaskChangeRepository,
  TaskStoreModule,
} from '@constellation/tes';
import { adapterProber } from './adapter-prober';
import { AbandonedCopiesService } from './abandoned-copies.service';
import { AbandonedCopyRepository } from './abandoned-copy.repository';
import { CancellationService } from './cancellation.service';
import { DeliveryService } from './delivery.service';
import { DeliveredOutputRepository } from './delivered-output.repository';
import { DecisionWriter } from './decision-writer';
import { DispatchNews } from './dispatch-news';
import { DispatchLoop } from './dispatch.loop';
import { PlacementService } from './placement.service';
import { ProbeLoop } from './probe.loop';
import { ProbeService, SITE_PROBER } from './probe.service';
import { DispatchSites } from './dispatch-sites';
import { SiteAdaptersModule } from './site-adapters.module';
import { CompletionLearning } from './estimates/completion-learning';
import { LocalityDemandStore } from './locality/locality-demand.store';
import { EstimateStore } from './estimates/estimate.store';
import { EstimatesController } from './estimates/estimates.controller';
import { EstimatesService } from './estimates/estimates.service';
import { headSizeResolver, HeadSizeResolver } from './sizing/head-size-resolver';
import { SubmissionService } from './submission.service';
import { TakeBackService } from './take-back.service';
import { TrackingService } from './tracking.service';
import { TrackingRepository } from './tracking.repository';

/** Needs ScheduleModule.forRoot() once in the application (apps/broker). */
@Module({
  imports: [RegistryModule, ObservabilityModule, SiteAdaptersModule, TaskStoreModule],
  controllers: [EstimatesController],
  providers: [
    { provide: HeadSizeResolver, useFactory: headSizeResolver, inject: [APP_CONFIG] },
    EstimateStore,
    EstimatesService,
    LocalityDemandStore,
    CompletionLearning,
    DecisionWriter,
    DispatchNews,
    PlacementService,
    SubmissionService,
    TrackingService,
    TakeBackService,
    TrackingRepository,
    DeliveryService,
    DeliveredOutputRepository,
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
  exports: [ProbeService, DispatchLoop, DeliveryService, PlacementService, SiteAdaptersModule],
})
export class DispatchModule {}

/**
 * What the TES library serves but cannot compute itself, since tes does not import dispatch: the site schemes
 * its service-info lists, the placement preview of a queued task, and who to tell of a new task. Global, so TesModule finds them, and
 * nothing else of dispatch becomes global.
 */
@Global()
@Module({
  imports: [DispatchModule, TaskStoreModule],
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
        (tasks: TaskChangeRepository, placement: PlacementService): PlacementPreview =>
        async (taskId) => {
          const task = await tasks.find(taskId);
          return task === null ? null : { ...(await placement.preview(task)) };
        },
      inject: [TaskChangeRepository, PlacementService],
    },
    {
      provide: TASK_ARRIVALS,
      useFactory:
        (loop: DispatchLoop): TaskArrivals =>
        () =>
          loop.taskArrived(),
      inject: [DispatchLoop],
    },
  ],
  exports: [SITE_INPUT_SCHEMES, PLACEMENT_PREVIEW, TASK_ARRIVALS],
})
export class DispatchForTesModule {}
