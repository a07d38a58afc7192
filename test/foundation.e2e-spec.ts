import SwaggerParser from '@apidevtools/swagger-parser';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { PreparedSql } from '@constellation/persistence';
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

  it("runs every statement with PostgreSQL's JIT compiler off, on each of the pool's connections", async () => {
    // The server's own default, for a connection that is not the broker's.
    const raw = new Client({ connectionString: process.env.DATABASE_URL });
    await raw.connect();
    const serverDefault = (await raw.query('SHOW jit')).rows[0].jit;
    await raw.end();
    expect(serverDefault).toBe('on');
    // Held at once, so that they are distinct connections, new ones among them.
    const db = t.app.get(DataSource);
    const runners = Array.from({ length: 6 }, () => db.createQueryRunner());
    try {
      const shown = await Promise.all(runners.map((r) => r.query('SHOW jit')));
      expect(shown.map((rows: Array<{ jit: string }>) => rows[0].jit)).toEqual(Array(6).fill('off'));
    } finally {
      await Promise.all(runners.map((r) => r.release()));
    }
    const prepared = await t.app.get(PreparedSql).query<{ jit: string }>('SHOW jit', [], { prepare: false });
    expect(prepared).toEqual([{ jit: 'off' }]);
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

  it('reads JSON bodies as Express did: strict, UTF-8 or UTF-16, compressed or not, empty as {}', async () => {
    const create = () => request(t.url).post('/ga4gh/tes/v1/tasks');
    const admin = `Bearer ${t.config.adminToken}`;
    const notAnObject = await create().set('Content-Type', 'application/json').send('null').expect(400);
    expect(notAnObject.body).toMatchObject({
      code: 'BAD_REQUEST',
      errors: [{ path: '', reason: 'is not valid JSON' }],
    });
    await create().set('Content-Type', 'application/json').send('  ').expect(400);
    const latin1 = await create()
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{"executors": []}')
      .expect(415);
    expect(latin1.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported charset "LATIN1"',
    });
    const compress = await create()
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress')
      .send('{}')
      .expect(415);
    expect(compress.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    // Each of these reaches the validator, which names what the document lacks.
    const bodies: Array<[Record<string, string>, Buffer]> = [
      [{ 'Content-Encoding': 'gzip' }, gzipSync('{"executors": []}')],
      [{ 'Content-Encoding': 'br' }, brotliCompressSync('{"executors": []}')],
      [{}, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"executors": []}')])],
      [{ 'Content-Type': 'application/json; charset=utf-16le' }, Buffer.from('{"executors": []}', 'utf16le')],
      [
        { 'Content-Type': 'application/json; charset=utf-16' },
        Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('{"executors": []}', 'utf16le').swap16()]),
      ],
      [{ 'Content-Encoding': '' }, Buffer.from('{"executors": []}')],
    ];
    // fetch sends the bytes as they are (supertest would serialise a Buffer as JSON).
    for (const [headers, body] of bodies) {
      const res = await fetch(`${t.url}/ga4gh/tes/v1/tasks`, {
        method: 'POST',
        headers: { Authorization: admin, 'Content-Type': 'application/json', ...headers },
        body,
      });
      expect(res.status).toBe(400);
      const answer = (await res.json()) as { errors?: Array<{ path: string }> };
      expect(answer.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'executors' })]));
    }
    const bomb = await fetch(`${t.url}/ga4gh/tes/v1/tasks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ name: 'x'.repeat(8192) })),
    });
    expect(bomb.status).toBe(413);
    expect(await bomb.json()).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'request body exceeds the limit of 2048 bytes',
    });
    // An empty JSON body is {} (clients send one with :cancel): the request goes on to authentication.
    await request(t.url)
      .post('/ga4gh/tes/v1/tasks/0190a6b2-0000-7000-8000-000000000000:cancel')
      .set('Content-Type', 'application/json')
      .send('')
      .expect(401);
  });

  it('allows browsers every method the admin API uses', async () => {
    const res = await request(t.url)
      .options('/api/v1/sites/x')
      .set('Origin', 'https://dashboard.example')
      .set('Access-Control-Request-Method', 'DELETE')
      .expect(204);
    expect(res.headers['access-control-allow-methods']).toContain('DELETE');
    expect(res.headers['access-control-allow-methods']).toContain('PATCH');
  });

  it('routes as clients expect: any case, a trailing slash, long ids; a malformed URL gets the error body', async () => {
    await request(t.url).get('/HEALTH/Live').expect(200);
    await request(t.url).get('/health/live/').expect(200);
    // Reaches the route (and its authentication) instead of stopping at the router's length limit.
    await request(t.url)
      .get(`/ga4gh/tes/v1/tasks/${'a'.repeat(300)}`)
      .expect(401);
    const bad = await request(t.url).get('/ga4gh/tes/v1/tasks/%zz').expect(400);
    expect(bad.body).toMatchObject({ code: 'BAD_REQUEST' });
    expect(bad.body.message).toMatch(/^malformed request URL/);
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
    // The standard names of prom-client's default metrics, which stock dashboards expect.
    expect(res.text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(res.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(res.text).not.toContain('constellation_process_');
    // None of the broker's own gauges is named like a counter (prom-client's standard nodejs_active_*_total
    // gauges keep the names stock dashboards know).
    const gauges = [...res.text.matchAll(/^# TYPE (constellation_\S+) gauge$/gm)].map((m) => m[1]);
    expect(gauges.length).toBeGreaterThan(0);
    expect(gauges.filter((name) => name.endsWith('_total'))).toEqual([]);
    expect(res.text).toMatch(
      /constellation_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} [1-9]/,
    );
  });

  it('gives a request its id and its duration sample before the body is read', async () => {
    const count = async (labels: string): Promise<number> => {
      const text = (await request(t.url).get('/metrics').expect(200)).text;
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`constellation_http_request_duration_seconds_count{${labels}}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const rejected = 'method="POST",route="/ga4gh/tes/v1/tasks",status="400"';
    const unmatched = 'method="GET",route="unmatched",status="404"';
    const before = { rejected: await count(rejected), unmatched: await count(unmatched) };
    // The body parser rejects this one: the request-log hook must already have run.
    const res = await request(t.url)
      .post('/ga4gh/tes/v1/tasks')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'galaxy-job-43')
      .send('{"executors": [')
      .expect(400);
    expect(res.headers['x-request-id']).toBe('galaxy-job-43');
    expect(res.body.request_id).toBe('galaxy-job-43');
    await request(t.url).get('/no/such/route').expect(404);
    expect(await count(rejected)).toBe(before.rejected + 1);
    expect(await count(unmatched)).toBe(before.unmatched + 1);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await request(t.url).get('/openapi.json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    const ui = await request(t.url).get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it('serves an OpenAPI document that validates offline, with every error answer and no JWT claim', async () => {
    const doc = (await request(t.url).get('/openapi.json').expect(200)).body;
    // Every reference is local: a client generator needs no network to read the document.
    expect(JSON.stringify(doc)).not.toMatch(/"\$ref":"(?!#)/);
    // Validates the document against the OpenAPI 3.0 schema, resolving every $ref (a copy: it dereferences).
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
    expect(doc.components.securitySchemes.bearer).toEqual({
      type: 'http',
      scheme: 'bearer',
      description: expect.any(String),
    });
    const error = { $ref: '#/components/schemas/Error' };
    const errorOf = (path: string, method: string, status: string) =>
      doc.paths[path][method].responses[status]?.content?.['application/json']?.schema;
    expect(errorOf('/ga4gh/tes/v1/tasks', 'post', '400')).toEqual(error);
    expect(errorOf('/ga4gh/tes/v1/tasks', 'post', '401')).toEqual(error);
    expect(errorOf('/ga4gh/tes/v1/tasks/{id}', 'get', '404')).toEqual(error);
    expect(errorOf('/api/v1/sites/{ref}/approve', 'post', '403')).toEqual(error);
    expect(errorOf('/api/v1/sites', 'post', '429')).toEqual(error);
    expect(doc.paths['/ga4gh/tes/v1/service-info'].get.responses['401']).toBeUndefined();
    // The task insight answers have schemas of their own.
    const ok = (path: string) => doc.paths[path].get.responses['200'].content['application/json'].schema;
    expect(ok('/api/v1/tasks/{id}/placement')).toEqual({ $ref: '#/components/schemas/TaskPlacementView' });
    expect(ok('/api/v1/tasks/{id}/events')).toEqual({ $ref: '#/components/schemas/TaskEventsView' });
    expect(doc.components.schemas.TaskEventsView.required).toEqual(['task_id', 'events']);
  });
});
