import { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import pino from 'pino';
import { REQUEST_LINE_LOGGER, requestId } from './logging.module';
import { MetricsService } from './metrics.service';

/** A request URL's path, without its query string (which may carry job-file keys). */
export function pathOf(url: string | undefined): string {
  const u = url ?? '';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** Where the router's matched pattern is kept on the raw request for the duration metric's `route` label. */
const ROUTE_LABEL = Symbol('constellation.routeLabel');

/**
 * Records the route pattern `req` matched, as the metric labels it: `/tasks/:id:cancel`, without the
 * router's parameter patterns (`(^...)`) and literal-colon escapes (`::`).
 */
export function labelRoute(req: IncomingMessage, pattern: string): void {
  (req as { [ROUTE_LABEL]?: string })[ROUTE_LABEL] = pattern.replace(/\(\^[^)]*\)/g, '').replace(/::/g, ':');
}

/**
 * Per request: sets the request id, then on 'close' writes the one log line (method, path without its
 * query string, client address, status, duration, request id) and the duration sample of
 * `constellation_http_request_duration_seconds`. One listener serves both, since its cost is paid by every
 * request. Connect-style, on the raw request and response: app.factory.ts calls it from an onRequest hook,
 * before the body is read, so requests that fail in the body parser get a request id, a line and a sample
 * too.
 */
@Injectable()
export class RequestLogHook {
  constructor(
    @Inject(REQUEST_LINE_LOGGER) private readonly lines: pino.Logger,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * `client` is the client's address as the HTTP layer resolved it (through trusted proxies only); without
   * it, the socket's peer.
   */
  readonly use = (req: IncomingMessage, res: ServerResponse, next: () => void, client?: string): void => {
    const startedAt = process.hrtime.bigint();
    const id = requestId(req, res);
    req.id = id;
    const remoteAddress = client ?? req.socket?.remoteAddress;
    // 'close' follows 'finish' on a completed response and also comes alone when the client went away.
    res.once('close', () => this.finished(req, res, id, startedAt, remoteAddress));
    next();
  };

  private finished(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    startedAt: bigint,
    remoteAddress: string | undefined,
  ): void {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    // 499 (as nginx logs it): the client went away before the response was complete.
    const status = res.writableFinished ? res.statusCode : 499;
    const path = pathOf(req.url);
    // The matched route pattern, never the raw path, keeps the label set bounded.
    const route = (req as { [ROUTE_LABEL]?: string })[ROUTE_LABEL];
    this.metrics.httpDuration.observe(
      {
        method: req.method ?? '',
        route: route ?? 'unmatched',
        status: String(status),
      },
      seconds,
    );
    const durationMs = Math.round(seconds * 1000);
    const fields = {
      reqId: id,
      req: { id, method: req.method, path, remoteAddress },
      res: { status },
      duration_ms: durationMs,
    };
    if (status >= 500) this.lines.error(fields, `${req.method} ${path} ${status}`);
    else this.lines.info(fields, `${req.method} ${path} ${status} ${durationMs}ms`);
  }
}
