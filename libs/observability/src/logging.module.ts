import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { LogFormat, LogLevel } from '@constellation/config';
import { BrokerLogger } from './broker-logger';

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

/** The logger request lines go to: pino, with no redaction (a line carries only the fields it builds). */
export const REQUEST_LINE_LOGGER = Symbol('REQUEST_LINE_LOGGER');

/** Longest time a log line waits in the write buffer. */
export const FLUSH_INTERVAL_MS = 1000;

function flushQuietly(destination: { flush(): void }): void {
  try {
    // Without a callback: flush(cb) would also fsync stdout every second, and add listeners that pile up
    // while the output is blocked. It returns at once when a write is in progress.
    destination.flush();
  } catch {
    // Only a destroyed destination throws; logging must never take the broker down.
  }
}

/** Whether lines are for people (a terminal, or LOG_FORMAT=pretty) rather than for a log collector. */
export function prettyLogs(format: LogFormat, stdoutIsTty = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty);
}

/** Readable lines: time, level, context and message; the request id and other fields after them. */
function prettyDestination(): DestinationStream {
  return pretty({
    destination: 1,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The request line's message already says method, path, status and duration.
    ignore: 'pid,hostname,context,req,res,duration_ms',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
}

@Module({})
export class LoggingModule {
  static forRoot(level: LogLevel, format: LogFormat = 'json'): DynamicModule {
    if (prettyLogs(format)) return LoggingModule.build(level, prettyDestination());
    // Buffered writes: a synchronous write per request line halves throughput under load. pino flushes
    // the buffer on exit, so a clean or crashing shutdown still writes every line; the timer flushes it at
    // least once a second, so on a quiet broker a line still shows up at once rather than at 2 KiB.
    // Each write is whole lines and at most PIPE_BUF (4 KiB), so several workers writing to one pipe never
    // interleave inside a line.
    const destination = pino.destination({ dest: 1, sync: false, minLength: 2048, maxWrite: 4096 });
    setInterval(() => flushQuietly(destination), FLUSH_INTERVAL_MS).unref();
    return LoggingModule.build(level, destination);
  }

  private static build(level: LogLevel, destination: DestinationStream): DynamicModule {
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
      global: true,
      imports: [
        // forRoutes []: no request-scoped logger. nestjs-pino binds one through AsyncLocalStorage, and on
        // Node 20 that turns on promise hooks for every promise in the process, about a tenth of a cheap
        // request's cost; the request line and every error line carry the request id instead.
        LoggerModule.forRoot({ pinoHttp: { logger: root }, useExisting: true, forRoutes: [] }),
      ],
      providers: [{ provide: REQUEST_LINE_LOGGER, useValue: lines }, BrokerLogger],
      exports: [REQUEST_LINE_LOGGER, BrokerLogger],
    };
  }
}
