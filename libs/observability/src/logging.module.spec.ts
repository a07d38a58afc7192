import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import { safeErrorSerializer } from './logging.module';
import { MetricsService } from './metrics.service';
import { RequestLogHook } from './request-log.hook';

describe('safeErrorSerializer', () => {
  it('drops bound query parameters (encrypted credentials, token hashes) and keeps the rest', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "site_slug_key"'), {
      query: 'INSERT INTO site (slug, credentials) VALUES ($1, $2)',
      parameters: ['it-bari', 'sealed-credentials'],
      driverError: { code: '23505', parameters: ['it-bari', 'sealed-credentials'] },
    });
    const out = safeErrorSerializer(err);
    expect(JSON.stringify(out)).not.toContain('sealed-credentials');
    expect(out.message).toBe('duplicate key value violates unique constraint "site_slug_key"');
    expect(out.query).toBe('INSERT INTO site (slug, credentials) VALUES ($1, $2)');
    expect(out.driverError).toEqual({ code: '23505' });
  });
});

describe('RequestLogHook', () => {
  function run(
    url: string,
    status: number,
    headers: Record<string, string> = {},
    finished = true,
    client?: string,
  ) {
    const out: string[] = [];
    const stream = { write: (line: string) => void out.push(line) };
    const metrics = new MetricsService();
    const middleware = new RequestLogHook(pino({}, stream), metrics);
    const req = Object.assign(new EventEmitter(), {
      url,
      method: 'GET',
      headers,
      socket: { remoteAddress: '127.0.0.1' },
    }) as unknown as IncomingMessage;
    const res = Object.assign(new EventEmitter(), {
      statusCode: 200,
      writableFinished: finished,
      sent: {} as Record<string, string>,
      setHeader(name: string, value: string) {
        this.sent[name] = value;
      },
    });
    let nexted = 0;
    middleware.use(req, res as unknown as ServerResponse, () => nexted++, client);
    res.statusCode = status;
    res.emit('close');
    return { lines: out.map((l) => JSON.parse(l) as Record<string, unknown>), res, nexted, metrics };
  }

  it('writes one line with method, path without the query, status, duration and request id', () => {
    const { lines, res, nexted } = run('/ga4gh/tes/v1/tasks?page_token=secret', 200, {
      'x-request-id': 'galaxy-job-42',
    });
    expect(nexted).toBe(1);
    expect(res.sent['X-Request-Id']).toBe('galaxy-job-42');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      reqId: 'galaxy-job-42',
      req: { id: 'galaxy-job-42', method: 'GET', path: '/ga4gh/tes/v1/tasks', remoteAddress: '127.0.0.1' },
      res: { status: 200 },
      duration_ms: expect.any(Number),
      msg: expect.stringMatching(/^GET \/ga4gh\/tes\/v1\/tasks 200 \d+ms$/),
    });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('logs the client address the HTTP layer resolved, when it gives one', () => {
    const { lines } = run('/v1/tasks', 200, {}, true, '203.0.113.9');
    expect(lines[0]).toMatchObject({ req: { remoteAddress: '203.0.113.9' } });
  });

  it('records the duration under the matched route pattern, or "unmatched"', async () => {
    const { metrics } = run('/ga4gh/tes/v1/tasks/0192?view=FULL', 404);
    const text = await metrics.registry.getSingleMetricAsString(
      'constellation_http_request_duration_seconds',
    );
    expect(text).toContain(
      'constellation_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1',
    );
  });

  it('records a request whose client went away before the response was complete as 499', async () => {
    const { lines, metrics } = run('/ga4gh/tes/v1/tasks', 200, {}, false);
    expect(lines[0]).toMatchObject({ res: { status: 499 } });
    const text = await metrics.registry.getSingleMetricAsString(
      'constellation_http_request_duration_seconds',
    );
    expect(text).toContain('status="499"');
  });

  it('logs a 5xx at error level', () => {
    const { lines } = run('/boom', 503);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, res: { status: 503 }, msg: 'GET /boom 503' });
    expect(lines[0].reqId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
