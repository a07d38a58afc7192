import { randomUUID } from 'node:crypto';
import { IncomingMessage, maxHeaderSize as defaultMaxHeaderSize, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type pino from 'pino';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { BrokerError, ErrorCode, httpStatusOf } from '@constellation/common';
import { pathOf, RequestLogHook } from '@constellation/observability';
import { sendError } from './all-exceptions.filter';
import { classifyClientError, ClientErrorInput, ClientErrorVerdict, rawErrorResponse } from './client-error';

/** How long a closing connection keeps reading (and dropping) what the client still sends. */
export const LINGER_MS = 5_000;

/**
 * Node's own bookkeeping on a server socket. Node's default 'clientError' handling reads `_httpMessage`
 * for the same decision (is a response under way on this connection?); `parser.incoming` is the request
 * whose head the parser last completed.
 */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null;
  parser?: { incoming?: IncomingMessage | null } | null;
  server?: Server & { maxHeaderSize?: number };
}

export interface ClientErrorSinks {
  lines: pino.Logger;
  counter: Counter<'reason' | 'status'>;
  requestLog: RequestLogHook;
}

/**
 * Fastify's `clientErrorHandler`, i.e. Node's 'clientError' event: every error Node raises on a connection
 * outside a route (a head too large or malformed, a bad Content-Length or chunk, a timeout, a body cut
 * short, a reset). Each gets a log line and a count, and, while the client can still read, the broker's
 * error body with a request id and `Connection: close`. The connection is then half-closed and drained
 * for LINGER_MS, not destroyed: destroying a socket with unread input makes the kernel send a reset, which
 * can discard the answer before the client reads it, and is what a keep-alive client saw as a reset on
 * its next request.
 */
export class ClientErrorEdge {
  private sinks?: ClientErrorSinks;
  /** Connections already answered: the parser repeats its error for every later read. */
  private readonly answered = new WeakSet<Socket>();

  /** The logger and counter exist only once Nest has built the application, after the adapter. */
  attach(sinks: ClientErrorSinks): void {
    this.sinks = sinks;
  }

  /**
   * Fastify's `frameworkErrors`: a URL its router cannot decode. Fastify answers it before any hook, so the
   * request log is started here for its id, line and duration sample.
   */
  readonly handleFrameworkError = (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    this.sinks?.requestLog.use(req.raw, reply.raw, () => undefined, req.ip);
    this.sinks?.counter.inc({ reason: 'malformed_url', status: '400' });
    sendError(new BrokerError(ErrorCode.BadRequest, `malformed request URL: ${err.message}`), req, reply);
  };

  readonly handle = (error: Error, socket: Socket): void => {
    const err = error as Error & ClientErrorInput;
    const conn = socket as HttpSocket;
    if (this.answered.has(conn)) return;
    this.answered.add(conn);
    const incoming = conn.parser?.incoming ?? undefined;
    const body = incoming !== undefined && !incoming.complete ? incoming : undefined;
    const verdict = classifyClientError(
      err,
      body ? 'body' : 'head',
      conn.server?.maxHeaderSize ?? defaultMaxHeaderSize,
    );
    if (verdict.code === undefined) {
      // A reset between requests is how keep-alive connections end; only one that cut a request short counts.
      const pending =
        conn._httpMessage && !conn._httpMessage.writableFinished ? conn._httpMessage : undefined;
      const cut = body ?? pending?.req;
      if (cut) this.record(verdict, 'none', pendingId(conn, cut), conn, cut, err);
      conn.destroy();
      return;
    }
    if (body) this.answerInFlight(conn, body, verdict, err);
    else this.answerRaw(conn, verdict, err);
  };

  /** An error in the head of a new request: answered on the socket once earlier responses are out. */
  private answerRaw(conn: HttpSocket, verdict: ClientErrorVerdict, err: ClientErrorInput): void {
    const code = verdict.code as ErrorCode;
    afterEarlierResponses(conn, undefined, () => {
      const id = randomUUID();
      if (!conn.writable) {
        this.record(verdict, 'none', id, conn, undefined, err);
        return void conn.destroy();
      }
      this.record(verdict, String(httpStatusOf(code)), id, conn, undefined, err);
      conn.write(rawErrorResponse(code, verdict.message, id));
      lingeringClose(conn);
    });
  }

  /**
   * An error in the body of a request a route may already be reading: answered through that request's
   * response, so the request log writes its line (with the request's id) and nothing else can write after.
   */
  private answerInFlight(
    conn: HttpSocket,
    req: IncomingMessage,
    verdict: ClientErrorVerdict,
    err: ClientErrorInput,
  ): void {
    // Whatever route reads the body must not see it end (a timed-out body may yet arrive whole).
    req.pause();
    // The route's body reader waits for an end that will not come; releasing it once the socket is gone
    // (destroying an unfinished request earlier would destroy the socket with it).
    conn.once('close', () => {
      if (!req.destroyed) req.destroy();
    });
    afterEarlierResponses(conn, req, () => {
      const res = conn._httpMessage;
      const id = pendingId(conn, req);
      if (!res || res.req !== req || res.headersSent || !conn.writable) {
        // The route has answered already (or is answering): nothing sound can be added to the stream, and
        // the parser can read no further request, so the connection closes once that answer is out.
        this.record(verdict, 'none', id, conn, req, err);
        if (res && !res.writableFinished) res.once('finish', () => lingeringClose(conn));
        else lingeringClose(conn);
        return;
      }
      const code = verdict.code as ErrorCode;
      this.record(verdict, String(httpStatusOf(code)), id, conn, req, err);
      // Node ends a response marked Connection: close with destroySoon(); linger instead (see the class).
      Object.defineProperty(conn, 'destroySoon', { value: () => lingeringClose(conn), configurable: true });
      const payload = JSON.stringify({ code, message: verdict.message, request_id: id });
      res.statusCode = httpStatusOf(code);
      res.setHeader('X-Request-Id', id);
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Connection', 'close');
      res.end(payload);
    });
  }

  private record(
    verdict: ClientErrorVerdict,
    status: string,
    id: string,
    conn: Socket,
    req: IncomingMessage | undefined,
    err: ClientErrorInput,
  ): void {
    this.sinks?.counter.inc({ reason: verdict.reason, status });
    this.sinks?.lines.info(
      {
        reqId: id,
        req: {
          id,
          method: req?.method,
          path: req ? pathOf(req.url) : undefined,
          remoteAddress: conn.remoteAddress,
        },
        res: { status: status === 'none' ? undefined : Number(status) },
        client_error: { reason: verdict.reason, code: err.code },
      },
      `client error ${verdict.reason}${status === 'none' ? '' : ` ${status}`}: ${verdict.message}`,
    );
  }
}

/** The id the request log gave the request (on its response), or a new one. */
function pendingId(conn: HttpSocket, req: IncomingMessage | undefined): string {
  const given = req !== undefined ? (req as { id?: unknown }).id : undefined;
  if (typeof given === 'string' && given !== '') return given;
  const res = conn._httpMessage;
  const header = res && res.req === req ? res.getHeader('X-Request-Id') : undefined;
  return typeof header === 'string' && header !== '' ? header : randomUUID();
}

/**
 * Runs `then` when no response of an earlier pipelined request is still being written on `conn` (the
 * response of `req` itself may be pending), so that an answer never lands inside another response.
 */
function afterEarlierResponses(conn: HttpSocket, req: IncomingMessage | undefined, then: () => void): void {
  const res = conn._httpMessage;
  if (!res || res.writableFinished || res.req === req || conn.destroyed) return then();
  let done = false;
  const next = () => {
    if (done) return;
    done = true;
    // Node hands the socket to the next queued response in its own 'finish' listener; look again after it.
    setImmediate(() => afterEarlierResponses(conn, req, then));
  };
  res.once('finish', next);
  res.once('close', next);
}

/** Half-closes `conn` and keeps reading until the client closes too, for LINGER_MS at most. */
function lingeringClose(conn: Socket): void {
  if (conn.destroyed) return;
  conn.end();
  const timer = setTimeout(() => conn.destroy(), LINGER_MS);
  timer.unref();
  conn.once('close', () => clearTimeout(timer));
}
