import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';

describe('foundation: health, errors, metrics, docs', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_BODY_LIMIT: '2kb' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers liveness and readiness with the database up', async () => {
    await request(t.url).get('/health/live').expect(200, { status: 'ok', info: {}, error: {}, details: {} });
    const ready = await request(t.url).get('/health/ready').expect(200);
    expect(ready.body.details).toEqual({ database: { status: 'up' } });
  });

  it('answers an unknown route with 404 and the one error body', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({
      code: 'ROUTE_NOT_FOUND',
      message: 'no route GET /no/such/route',
      request_id: res.headers['x-request-id'],
    });
  });

  it('propagates a caller request id and makes one otherwise', async () => {
    const given = await request(t.url).get('/nowhere').set('X-Request-Id', 'galaxy-job-42').expect(404);
    expect(given.headers['x-request-id']).toBe('galaxy-job-42');
    expect(given.body.request_id).toBe('galaxy-job-42');
    const made = await request(t.url).get('/nowhere').set('X-Request-Id', 'bad id with spaces').expect(404);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a body over CONSTELLATION_BODY_LIMIT with 413', async () => {
    const res = await request(t.url)
      .post('/ga4gh/tes/v1/tasks')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(4096) }))
      .expect(413);
    expect(res.body).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'request body exceeds the limit of 2048 bytes',
    });
  });

  it('rejects malformed JSON with 400 naming the problem', async () => {
    const res = await request(t.url)
      .post('/ga4gh/tes/v1/tasks')
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.message).toMatch(/^request body is not valid JSON/);
    expect(res.body.errors).toEqual([{ path: '', reason: 'is not valid JSON' }]);
  });

  it('does not echo any of a malformed body back (it may hold a credential)', async () => {
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Content-Type', 'application/json')
      .send('{"credentials":{"token":s3cr3t-TOKEN-value}}')
      .expect(400);
    expect(res.text).not.toContain('s3cr3t');
    expect(res.body.message).toMatch(/^request body is not valid JSON( \(at position \d+\))?$/);
  });

  it('exports Prometheus metrics with process metrics and the request histogram', async () => {
    await request(t.url).get('/health/live').expect(200);
    const res = await request(t.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('constellation_process_cpu_user_seconds_total');
    expect(res.text).toMatch(
      /constellation_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} [1-9]/,
    );
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await request(t.url).get('/openapi.json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    const ui = await request(t.url).get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
  });
});
