import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BrokerError, ErrorCode, httpStatusOf } from '@constellation/common';
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

/** body-parser reports its failures as plain errors carrying `type` and `status`. */
interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

function jsonErrorPosition(parserMessage: string): string {
  const m = /position (\d+)/.exec(parserMessage);
  return m ? ` (at position ${m[1]})` : '';
}

function describe(
  exception: unknown,
  req: Request,
): { status: number; body: Omit<ErrorBody, 'request_id'>; headers?: Record<string, string> } {
  if (exception instanceof BrokerError) {
    const body: Omit<ErrorBody, 'request_id'> = { code: exception.code, message: exception.message };
    if (exception.errors.length > 0) body.errors = exception.errors;
    return { status: httpStatusOf(exception.code), body, headers: exception.headers };
  }
  const parserError = exception as BodyParserError;
  if (parserError?.type === 'entity.too.large') {
    return {
      status: 413,
      body: {
        code: ErrorCode.PayloadTooLarge,
        message: `request body exceeds the limit of ${parserError.limit} bytes`,
      },
    };
  }
  if (parserError?.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: {
        code: ErrorCode.BadRequest,
        // The parser's own message quotes a slice of the body, which may hold a credential: only its position.
        message: `request body is not valid JSON${jsonErrorPosition(parserError.message)}`,
        errors: [{ path: '', reason: 'is not valid JSON' }],
      },
    };
  }
  if (parserError?.type && typeof parserError.status === 'number' && parserError.status < 500) {
    return {
      status: parserError.status,
      body: {
        code: CODE_BY_STATUS[parserError.status] ?? ErrorCode.BadRequest,
        message: parserError.message,
      },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message = exception.message;
    if (status === 404 && typeof response === 'object' && /^Cannot /.test(message)) {
      message = `no route ${req.method} ${req.path}`;
    }
    const body: Omit<ErrorBody, 'request_id'> = {
      code: CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest),
      message,
    };
    // Terminus puts the failed checks in the response; readiness callers want to see which one.
    if (status === 503 && typeof response === 'object' && response && 'error' in response) {
      body.message = `not ready: ${Object.keys((response as { error: object }).error).join(', ')} down`;
    }
    return { status, body };
  }
  return {
    status: 500,
    body: { code: ErrorCode.Internal, message: 'internal error; quote the request id when reporting it' },
  };
}

const logger = new Logger('http');

/** Writes the one error body for any exception; used by the global filter and the body-parser error hook. */
export function sendError(exception: unknown, req: Request, res: Response): void {
  const { status, body, headers } = describe(exception, req);
  const requestId = String(req.id ?? res.getHeader('X-Request-Id') ?? '');
  if (status >= 500) {
    logger.error({ err: exception, request_id: requestId }, `unexpected error on ${req.method} ${req.path}`);
  }
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  res.status(status).json({ ...body, request_id: requestId } satisfies ErrorBody);
}

/** Express error middleware placed right after the body parser, before Nest turns its errors into bare 400s. */
export function bodyParserErrorHandler(
  err: unknown,
  req: Request,
  res: Response,
  next: (e?: unknown) => void,
): void {
  if ((err as BodyParserError)?.type) sendError(err, req, res);
  else next(err);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendError(exception, ctx.getRequest<Request>(), ctx.getResponse<Response>());
  }
}
