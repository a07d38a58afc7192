import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
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

@Module({})
export class LoggingModule {
  static forRoot(level: LogLevel): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level,
              genReqId: requestId,
              redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
              // One line per request: the URL without its query string (job-files keys travel there).
              serializers: {
                req: (req: { id: string; method: string; url: string }) => ({
                  id: req.id,
                  method: req.method,
                  path: req.url.split('?')[0],
                }),
                res: (res: { statusCode: number }) => ({ status: res.statusCode }),
                err: safeErrorSerializer,
              },
              customSuccessMessage: (req, res, responseTime) =>
                `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${Math.round(responseTime)}ms`,
              customErrorMessage: (req, res) =>
                `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode}`,
              customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
              customAttributeKeys: { responseTime: 'duration_ms' },
              quietReqLogger: true,
            },
            // Buffered writes: a synchronous write per request line halves throughput under load. pino
            // flushes the buffer on exit, so a clean or crashing shutdown still writes every line.
            pino.destination({ dest: 1, sync: false, minLength: 4096 }),
          ],
        }),
      ],
    };
  }
}
