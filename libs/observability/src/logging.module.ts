import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Inject, Injectable, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { LogLevel } from '@constellation/config';

/** Header paths and body keys that must never reach a log line (tokens, site credentials). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.credentials',
  '*.token',
  '*.password',
  '*.secret',
];

/**
 * pino's error serializer minus query parameters: a failed INSERT or UPDATE carries its bound values
 * (encrypted site credentials, token hashes) in `parameters`, which must not reach a log line.
 */
export function safeErrorSerializer(err: unknown): Record<string, unknown> {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  delete out.parameters;
  if (out.driverError && typeof out.driverError === 'object') {
    const driver = { ...(out.driverError as Record<string, unknown>) };
    delete driver.parameters;
    out.driverError = driver;
  }
  return out;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's X-Request-Id when it is well-formed, else makes one; echoes it on the response. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

const ROOT_LOGGER = Symbol('ROOT_LOGGER');
const REQUEST_LINE_LOGGER = Symbol('REQUEST_LINE_LOGGER');

type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * What nestjs-pino finds in its request context: the root logger bound to the request id, built only when
 * something logs during the request. Most requests log nothing but their one line, and a pino child per
 * request (what pino-http makes, two of them) costs more than the rest of a cheap request's logging.
 */
class RequestScopedLogger {
  private bound?: pino.Logger;

  constructor(
    private readonly root: pino.Logger,
    private readonly id: string,
  ) {}

  trace(...args: unknown[]): void {
    this.call('trace', args);
  }
  debug(...args: unknown[]): void {
    this.call('debug', args);
  }
  info(...args: unknown[]): void {
    this.call('info', args);
  }
  warn(...args: unknown[]): void {
    this.call('warn', args);
  }
  error(...args: unknown[]): void {
    this.call('error', args);
  }
  fatal(...args: unknown[]): void {
    this.call('fatal', args);
  }
  child(bindings: pino.Bindings): pino.Logger {
    return this.logger().child(bindings);
  }

  private logger(): pino.Logger {
    return (this.bound ??= this.root.child({ reqId: this.id }));
  }

  private call(level: LevelName, args: unknown[]): void {
    const logger = this.logger();
    (logger[level] as (...a: unknown[]) => void).apply(logger, args);
  }
}

/**
 * Writes the one line per request (method, path without its query string, status, duration, request id)
 * and sets the request id. Plain Express middleware mounted first (see app.factory.ts), so requests that
 * fail in the body parser get a request id and a line too.
 */
@Injectable()
export class RequestLogMiddleware {
  constructor(
    @Inject(ROOT_LOGGER) private readonly root: pino.Logger,
    @Inject(REQUEST_LINE_LOGGER) private readonly lines: pino.Logger,
  ) {}

  readonly use = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const startedAt = Date.now();
    const id = requestId(req, res);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    req.id = id;
    // nestjs-pino's context middleware (useExisting) binds whatever is here to the request's async context.
    req.log = new RequestScopedLogger(this.root, id) as unknown as pino.Logger;
    // 'close' follows 'finish' on a completed response and also comes alone when the client went away.
    res.once('close', () => {
      const status = res.statusCode;
      const durationMs = Date.now() - startedAt;
      const fields = {
        reqId: id,
        req: { id, method: req.method, path },
        res: { status },
        duration_ms: durationMs,
      };
      if (status >= 500) this.lines.error(fields, `${req.method} ${path} ${status}`);
      else this.lines.info(fields, `${req.method} ${path} ${status} ${durationMs}ms`);
    });
    next();
  };
}

/** Longest time a log line waits in the write buffer. */
export const FLUSH_INTERVAL_MS = 1000;

function flushQuietly(destination: { flush(cb?: (err?: Error) => void): void }): void {
  try {
    // The callback form never throws on an empty buffer or a write in progress; a failure waits for the next tick.
    destination.flush(() => undefined);
  } catch {
    // Logging must never take the broker down.
  }
}

@Module({})
export class LoggingModule {
  static forRoot(level: LogLevel): DynamicModule {
    // Buffered writes: a synchronous write per request line halves throughput under load. pino flushes
    // the buffer on exit, so a clean or crashing shutdown still writes every line; the timer flushes it at
    // least once a second, so on a quiet broker a line still shows up at once rather than at 4 KiB.
    const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => flushQuietly(destination), FLUSH_INTERVAL_MS).unref();
    const root = pino(
      {
        level,
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
        serializers: { err: safeErrorSerializer },
      },
      destination,
    );
    // Request lines carry only the fields built above (no headers, no body), so they skip redaction.
    const lines = pino({ level }, destination);
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: root }, useExisting: true })],
      providers: [
        { provide: ROOT_LOGGER, useValue: root },
        { provide: REQUEST_LINE_LOGGER, useValue: lines },
        RequestLogMiddleware,
      ],
      exports: [RequestLogMiddleware],
    };
  }
}
