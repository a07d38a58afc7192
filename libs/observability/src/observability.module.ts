import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { ReadinessChecks } from './readiness-checks';
import { RequestLogHook } from './request-log.hook';

/** Health, metrics and the request middleware; needs LoggingModule.forRoot (global) in the application. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false })],
  controllers: [HealthController, MetricsController],
  providers: [MetricsService, RequestLogHook, ReadinessChecks],
  exports: [MetricsService, RequestLogHook, ReadinessChecks],
})
export class ObservabilityModule {}
