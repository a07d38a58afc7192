import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '@constellation/common';
import { JobFilesService } from './job-files.service';

/**
 * Where Pulsar (AMQP mode) pulls inputs from and posts outputs to. Public to the auth guard because sites send
 * no token: each URL carries its own key (see JobFilesKeys), and the request log drops query strings.
 */
@ApiExcludeController()
@Public()
// Sites post many files from one address (all sites share one behind a proxy); a 429 would be an output
// Pulsar drops for good. The per-job key already limits who can call.
@SkipThrottle()
@Controller('api/v1/job-files')
export class JobFilesController {
  constructor(private readonly files: JobFilesService) {}

  @Get(':jobId')
  async serve(
    @Param('jobId') jobId: string,
    @Query() query: Record<string, unknown>,
    @Res() res: FastifyReply,
  ): Promise<void> {
    // The service streams to the raw response; once it starts, Fastify must not send one of its own.
    await this.files.serve(jobId, query, res.raw, () => res.hijack());
  }

  @Post(':jobId')
  @HttpCode(200)
  async receive(
    @Param('jobId') jobId: string,
    @Query() query: Record<string, unknown>,
    @Req() req: FastifyRequest,
  ): Promise<string> {
    await this.files.receive(jobId, query, req.raw);
    return 'OK';
  }
}
