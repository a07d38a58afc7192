import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply as Response, FastifyRequest as Request } from 'fastify';
import { BrokerError, ErrorCode, httpStatusOf } from '@constellation/common';
import { pathOf } from '@constellation/observability';
import { isTransientDbError } from '@constellation/persistence';
import { ErrorBody } from './error-body';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BadRequest,
  401: ErrorCode.Unauthenticated,
  403: ErrorCode.Forbidden,
  404: ErrorCode.RouteNotFound,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.ServiceUnavailable,
};

function describe(
  exception: unknown,
  req: Request,
): { status: number; body: Omit<ErrorBody, 'request_id'>; headers?: Record<string, string> } {
  if (exception instanceof BrokerError) {
    const body: Omit<ErrorBody, 'request_id'> = { code: exception.code, message: exception.message };
    if (exception.errors.length > 0) body.errors = exception.errors;
    return { status: httpStatusOf(exception.code), body, headers: exception.headers };
  }
  // Fastify's FST_ERR_CTP_BODY_TOO_LARGE, turned into an HttpException by Nest before any filter sees it.
  if (exception instanceof HttpException && exception.getStatus() === 413) {
    return {
      status: 413,
      body: {
        code: ErrorCode.PayloadTooLarge,
        message: `request body exceeds the limit of ${req.routeOptions?.bodyLimit ?? req.server.initialConfig.bodyLimit} bytes`,
      },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = exception.message;
    if (status === 404 && typeof response === 'object' && /^Cannot /.test(message)) {
      message = `no route ${req.method} ${pathOf(req.url)}`;
    }
    const body: Omit<ErrorBody, 'request_id'> = {
      code: CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest),
      message,
    };
    // Terminus puts the failed checks in the response; readiness callers want to see which one, and why.
    if (status === 503 && typeof response === 'object' && response && 'error' in response) {
      const failed = Object.entries((response as { error: Record<string, { message?: unknown }> }).error);
      body.message = `not ready: ${failed
        .map(([name, r]) => (typeof r?.message === 'string' ? `${name} down (${r.message})` : `${name} down`))
        .join(', ')}`;
    }
    return { status, body };
  }
  // Still failing after the repositories' retries (withTransientRetry): the database is down or failing
  // over. Nothing of the request was stored unless it said so, and the same request may succeed shortly.
  if (isTransientDbError(exception)) {
    return {
      status: 503,
      body: {
        code: ErrorCode.ServiceUnavailable,
        message: 'the database is unavailable for the moment; retry the request shortly',
      },
      headers: { 'Retry-After': '1' },
    };
  }
  return {
    status: 500,
    body: { code: ErrorCode.Internal, message: 'internal error; quote the request id when reporting it' },
  };
}

const logger = new Logger('http');

/**
 * Node's error for a request whose connection closed before its body was in ("aborted"): there is no one
 * to answer, and it is no fault of the broker's. The HTTP edge (client-error-edge.ts) logs and counts it,
 * and the request log writes the request's line with 499.
 */
function clientWentAway(exception: unknown, req: Request): boolean {
  return (exception as { code?: unknown } | undefined)?.code === 'ECONNRESET' && req.raw.destroyed;
}

/** Writes the one error body for any exception; used by the global filter and for Fastify's own errors. */
export function sendError(exception: unknown, req: Request, res: Response): void {
  if (clientWentAway(exception, req)) return;
  const { status, body, headers } = describe(exception, req);
  // The id RequestLogHook set on the raw request (Fastify's own req.id is its generated "req-1").
  const requestId = String((req.raw as { id?: unknown }).id ?? res.getHeader('X-Request-Id') ?? '');
  if (status >= 500) {
    logger.error(
      { err: exception, request_id: requestId },
      `unexpected error on ${req.method} ${pathOf(req.url)}`,
    );
  }
  if (res.sent || res.raw.headersSent) return;
  for (const [name, value] of Object.entries(headers ?? {})) res.header(name, value);
  void res.status(status).send({ ...body, request_id: requestId } satisfies ErrorBody);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(exception, ctx.getRequest<Request>(), ctx.getResponse<Response>());
  }
}
