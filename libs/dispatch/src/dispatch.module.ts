import { Module } from '@nestjs/common';
import { APP_CONFIG } from '@constellation/config';
import { RegistryModule } from '@constellation/registry';
import { ProbeScheduler } from './probe.scheduler';
import { ProbeService, reachabilityProber, SITE_PROBER } from './probe.service';

/** Needs ScheduleModule.forRoot() once in the application (apps/broker). */
@Module({
  imports: [RegistryModule],
  providers: [
    ProbeService,
    ProbeScheduler,
    { provide: SITE_PROBER, useFactory: reachabilityProber, inject: [APP_CONFIG] },
  ],
  exports: [ProbeService],
})
export class DispatchModule {}
