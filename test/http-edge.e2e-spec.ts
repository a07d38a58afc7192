import { Agent, request as httpRequest } from 'node:http';
import { Logger } from 'nestjs-pino';
import type pino from 'pino';
import request from 'supertest';
import { allowLongUploads } from '@constellation/job-files';
import { REQUEST_LINE_LOGGER } from '@constellation/observability';
import { RawConnection } from './support/raw-http';
import { waitFor } from './support/wait-for';
import { startTestApp, TestApp } from './support/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP edge: errors Node raises before a route', () => {
  let t: TestApp;
  let lines: Array<Record<string, unknown>>;

  beforeAll(async () => {
    t = await startTestApp();
    // A second, shorter body deadline on top of the usual one, so that a body timeout can be waited for.
    allowLongUploads(t.app.getHttpServer(), 500);
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => {
    lines = [];
    const logger = t.app.get<pino.Logger>(REQUEST_LINE_LOGGER);
    jest.restoreAllMocks();
    jest.spyOn(logger, 'info').mockImplementation(((fields: Record<string, unknown>) => {
      lines.push(fields);
    }) as pino.LogFn);
  });

  const clientErrorCount = async (reason: string, status: string): Promise<number> => {
    const text = (await request(t.url).get('/metrics').expect(200)).text;
    const line = text
      .split('\n')
      .find((l) =>
        l.startsWith(`constellation_http_client_errors_total{reason="${reason}",status="${status}"}`),
      );
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };

  /** The error answer: the one error body, its id in the header, and a connection the server closes. */
  const expectErrorAnswer = (
    res: { status: number; headers: Record<string, string>; body: string },
    status: number,
    code: string,
  ): string => {
    expect(res.status).toBe(status);
    expect(res.headers['connection']).toBe('close');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toEqual({ code, message: expect.any(String), request_id: res.headers['x-request-id'] });
    return body.request_id as string;
  };

  /**
   * Sends a task POST whose headers end with `rest` (and whatever body follows) over a raw connection, and
   * checks the error answer carries `requestId` and the connection then closes.
   */
  const expectTaskPostAnswered = async (rest: string, status: number, code: string, requestId: string) => {
    const conn = await RawConnection.open(t.url);
    conn.write('POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' + rest);
    const res = await conn.response();
    expect(expectErrorAnswer(res, status, code)).toBe(requestId);
    conn.socket.end();
    expect(await conn.closed).toBe('closed');
  };

  it('answers headers too large with 431 and Connection: close; a keep-alive client goes on on a new connection', async () => {
    const before = await clientErrorCount('header_too_large', '431');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(`${t.url}/health/live`, { agent, headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const big = await get({ 'X-Big': 'a'.repeat(20_000) });
      expect(big.status).toBe(431);
      expect(big.headers['connection']).toBe('close');
      expect(JSON.parse(big.body)).toEqual({
        code: 'HEADERS_TOO_LARGE',
        message: 'request line and headers exceed 16384 bytes',
        request_id: big.headers['x-request-id'],
      });
      expect(big.headers['x-request-id']).toMatch(UUID);
      // The same agent's next request: it must not meet a reset on the closed connection.
      const next = await get({});
      expect(next.status).toBe(200);
      expect(lines).toContainEqual(
        expect.objectContaining({
          reqId: big.headers['x-request-id'],
          res: { status: 431 },
          client_error: { reason: 'header_too_large', code: 'HPE_HEADER_OVERFLOW' },
        }),
      );
      expect(await clientErrorCount('header_too_large', '431')).toBe(before + 1);
    } finally {
      agent.destroy();
    }
  });

  it('closes after a 431 without a reset, even when the client sends its next request on that connection', async () => {
    const conn = await RawConnection.open(t.url);
    // Far more than one read of the server's: most of it is still in flight when the answer goes out.
    conn.write(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4_000_000)}\r\n\r\n`);
    expectErrorAnswer(await conn.response(), 431, 'HEADERS_TOO_LARGE');
    // A client that ignores Connection: close: its request is read and dropped, then the connection ends
    // in an orderly close, never a reset.
    conn.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    conn.socket.end();
    expect(await conn.closed).toBe('closed');
    await request(t.url).get('/health/live').expect(200);
  });

  it('answers an over-long URL with 414', async () => {
    const conn = await RawConnection.open(t.url);
    conn.write(`GET /ga4gh/tes/v1/tasks/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const res = await conn.response();
    expectErrorAnswer(res, 414, 'URI_TOO_LONG');
    conn.socket.end();
    expect(await conn.closed).toBe('closed');
  });

  it.each([
    ['a malformed request line', 'GET / HTTX/1.1\r\nHost: x\r\n\r\n', 'malformed_request'],
    ['an invalid method', 'G@T / HTTP/1.1\r\nHost: x\r\n\r\n', 'malformed_request'],
    ['a header without a colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 'malformed_request'],
    [
      'a Content-Length that is no number',
      'POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n',
      'bad_content_length',
    ],
    [
      'a Content-Length beside chunked encoding',
      'POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'bad_body_framing',
    ],
    ['a head cut short by a half-close', 'GET /health/live HTTP/1.1\r\nHost: x\r\n', 'truncated'],
  ])('answers %s with 400 MALFORMED_REQUEST', async (_name, head, reason) => {
    const before = await clientErrorCount(reason, '400');
    const conn = await RawConnection.open(t.url);
    conn.write(head);
    if (reason === 'truncated') conn.socket.end();
    const id = expectErrorAnswer(await conn.response(), 400, 'MALFORMED_REQUEST');
    expect(await conn.closed).toBe('closed');
    expect(lines).toContainEqual(
      expect.objectContaining({ reqId: id, client_error: expect.objectContaining({ reason }) }),
    );
    expect(await clientErrorCount(reason, '400')).toBe(before + 1);
  });

  it('answers a response that is still being written first, then the malformed request after it', async () => {
    const conn = await RawConnection.open(t.url);
    conn.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTX/1.1\r\n\r\n');
    const first = await conn.response();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ status: 'ok' });
    expectErrorAnswer(await conn.response(), 400, 'MALFORMED_REQUEST');
    expect(await conn.closed).toBe('closed');
  });

  it('answers a body cut short by the client (its half-close) with 400 under the request id', async () => {
    const conn = await RawConnection.open(t.url);
    conn.write(
      'POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\nX-Request-Id: truncated-1\r\n\r\n{"name": "cut',
    );
    conn.socket.end();
    const res = await conn.response();
    expectErrorAnswer(res, 400, 'MALFORMED_REQUEST');
    expect(JSON.parse(res.body)).toMatchObject({
      message: 'the connection ended before the request body was complete',
      request_id: 'truncated-1',
    });
    expect(await conn.closed).toBe('closed');
    // The request log's own line for the request carries the answer's status.
    expect(lines).toContainEqual(expect.objectContaining({ reqId: 'truncated-1', res: { status: 400 } }));
  });

  it('answers a malformed chunk in the body with 400 under the request id', async () => {
    await expectTaskPostAnswered(
      'Transfer-Encoding: chunked\r\nX-Request-Id: chunk-1\r\n\r\n2\r\n{"\r\nzz\r\n',
      400,
      'MALFORMED_REQUEST',
      'chunk-1',
    );
  });

  it('answers a body that does not arrive in time with 408 under the request id', async () => {
    const before = await clientErrorCount('request_timeout', '408');
    await expectTaskPostAnswered(
      'Content-Length: 100\r\nX-Request-Id: slow-1\r\n\r\n{"name": ',
      408,
      'REQUEST_TIMEOUT',
      'slow-1',
    );
    expect(await clientErrorCount('request_timeout', '408')).toBe(before + 1);
  });

  it('logs and counts a body the client aborted, without an unexpected-error line', async () => {
    const errors = jest.spyOn(t.app.get(Logger), 'error');
    const before = await clientErrorCount('aborted', 'none');
    const conn = await RawConnection.open(t.url);
    const arrived = new Promise((resolve) => t.app.getHttpServer().once('request', resolve));
    conn.write(
      'POST /ga4gh/tes/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\nX-Request-Id: aborted-1\r\n\r\n{"name": ',
    );
    await arrived;
    conn.socket.resetAndDestroy();
    await waitFor('the aborted request to be counted', async () =>
      (await clientErrorCount('aborted', 'none')) > before ? true : undefined,
    );
    expect(await clientErrorCount('aborted', 'none')).toBe(before + 1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        reqId: 'aborted-1',
        client_error: expect.objectContaining({ reason: 'aborted' }),
      }),
    );
    // The request's own line says the client went away (499); nothing is logged as an unexpected error.
    await waitFor('the request line of the aborted request', async () =>
      lines.find((l) => l.reqId === 'aborted-1' && 'duration_ms' in l),
    );
    expect(lines.find((l) => l.reqId === 'aborted-1' && 'duration_ms' in l)).toMatchObject({
      res: { status: 499 },
    });
    expect(errors).not.toHaveBeenCalled();
  });

  it('gives a URL Fastify cannot decode its log line and count', async () => {
    const before = await clientErrorCount('malformed_url', '400');
    const res = await request(t.url)
      .get('/ga4gh/tes/v1/tasks/%zz')
      .set('X-Request-Id', 'bad-url-1')
      .expect(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', request_id: 'bad-url-1' });
    expect(res.headers['x-request-id']).toBe('bad-url-1');
    expect(lines).toContainEqual(expect.objectContaining({ reqId: 'bad-url-1', res: { status: 400 } }));
    expect(await clientErrorCount('malformed_url', '400')).toBe(before + 1);
  });
});
