import cluster from 'node:cluster';
import { BrokerError, ErrorCode, Public } from '@constellation/common';
import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { clusterMetricsText } from './cluster-metrics';
import { MetricsService } from './metrics.service';

@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async metricsText(@Res() res: FastifyReply): Promise<void> {
    let text: string;
    try {
      // With several workers, the scrape must count all of them, whichever one it reached.
      text = cluster.isWorker ? await clusterMetricsText() : await this.metrics.registry.metrics();
    } catch (err) {
      throw new BrokerError(ErrorCode.ServiceUnavailable, (err as Error).message);
    }
    void res.header('Content-Type', this.metrics.registry.contentType).send(text);
  }
}
