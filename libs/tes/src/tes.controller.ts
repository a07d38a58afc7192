import type { FastifyReply } from 'fastify';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Inject } from '@nestjs/common';
import { CurrentPrincipal, Public, Roles } from '@constellation/auth';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { parseIdempotencyKey } from './idempotency-key';
import { parseListQuery, parseView } from './list-query';
import { ServiceInfoService } from './service-info.service';
import { TaskService } from './task.service';
import type { TesServiceInfo } from './service-info';

/** Sends JSON text as it is: with a content type set, Fastify neither serialises nor copies a string. */
function sendJson(res: FastifyReply, json: string): void {
  void res.status(200).header('Content-Type', 'application/json; charset=utf-8').send(json);
}

/**
 * GA4GH TES 1.1 under `/ga4gh/tes/v1`, and under `/v1` for clients that assume that base (Galaxy's runner,
 * Nextflow, py-tes 0.4). Documented in /openapi.json from the spec's own document, not from decorators.
 */
@ApiExcludeController()
@Controller(['ga4gh/tes/v1', 'v1'])
export class TesController {
  constructor(
    private readonly tasks: TaskService,
    private readonly serviceInfo: ServiceInfoService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('service-info')
  getServiceInfo(): Promise<TesServiceInfo> {
    return this.serviceInfo.get();
  }

  // py-tes 0.4 asks only here, and pydantic-tes falls back to it; declared before tasks/:id so it matches.
  @Public()
  @Get('tasks/service-info')
  getServiceInfoUnderTasks(): Promise<TesServiceInfo> {
    return this.serviceInfo.get();
  }

  @Roles('submitter', 'admin')
  @Post('tasks')
  @HttpCode(200)
  createTask(
    @CurrentPrincipal() principal: AuthenticatedPrincipal,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | string[] | undefined,
  ): Promise<{ id: string }> {
    return this.tasks.create(principal, body, parseIdempotencyKey(idempotencyKey));
  }

  // Reads answer with JSON text rendered by PostgreSQL (see task-views.ts), sent as it is.
  @Roles('submitter', 'admin')
  @Get('tasks')
  async listTasks(
    @CurrentPrincipal() principal: AuthenticatedPrincipal,
    @Query() query: Record<string, unknown>,
    @Res() res: FastifyReply,
  ): Promise<void> {
    sendJson(res, await this.tasks.list(principal, parseListQuery(query, this.config.pageSizeDefault)));
  }

  // `:cancel` is a literal suffix of the id segment (Google API style): `::` is a literal colon for
  // Fastify's router, and the pattern keeps the id from swallowing it.
  @Roles('submitter', 'admin')
  @Post('tasks/:id(^[^/:]+)::cancel')
  @HttpCode(200)
  async cancelTask(
    @CurrentPrincipal() principal: AuthenticatedPrincipal,
    @Param('id') id: string,
  ): Promise<Record<string, never>> {
    await this.tasks.cancel(principal, id);
    return {};
  }

  @Roles('submitter', 'admin')
  @Get('tasks/:id')
  async getTask(
    @CurrentPrincipal() principal: AuthenticatedPrincipal,
    @Param('id') id: string,
    @Query('view') view: unknown,
    @Res() res: FastifyReply,
  ): Promise<void> {
    sendJson(res, await this.tasks.get(principal, id, parseView(view)));
  }
}
