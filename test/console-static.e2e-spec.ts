import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { consoleRoot } from '../apps/broker/src/http/console-static';
import { requireBuiltConsole } from './support/browser';
import { startTestApp, TestApp } from './support/test-app';

describe('the web console served at /', () => {
  let t: TestApp;
  const root = consoleRoot();

  beforeAll(async () => {
    requireBuiltConsole(root);
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const api = () => request(t.url);

  it('serves index.html at / uncached', async () => {
    const res = await api().get('/').set('Accept', 'text/html').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<div id="root"></div>');
  });

  it('caches hashed assets for a year, as immutable', async () => {
    const js = readdirSync(join(root, 'assets')).find((f) => f.endsWith('.js'));
    const res = await api().get(`/assets/${js}`).expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toMatch(/javascript/);
  });

  it('answers a client-side route asked for by a browser with index.html', async () => {
    const res = await api()
      .get('/tasks/0193a4f2-0000-7000-8000-000000000000')
      .set('Accept', 'text/html')
      .expect(200);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<div id="root"></div>');
  });

  it.each([
    ['/api/v1/nothing-here', 'text/html'],
    ['/ga4gh/tes/v1/nothing-here', 'text/html'],
    ['/docs/nothing-here', 'text/html'],
    ['/metrics/nothing-here', 'text/html'],
    ['/somewhere', 'application/json'],
    ['/assets/missing-0000.js', 'text/html,*/*'],
  ])('keeps the JSON 404 for %s (Accept %s)', async (path, accept) => {
    const res = await api().get(path).set('Accept', accept).expect(404);
    expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    expect(typeof res.body.request_id).toBe('string');
  });

  it('leaves the API, its authentication and the API docs as they were', async () => {
    await api().get('/api/v1/sites').set('Accept', 'text/html').expect(401);
    await api().get('/ga4gh/tes/v1/tasks').set('Accept', 'text/html').expect(401);
    await api().get('/ga4gh/tes/v1/service-info').expect(200);
    const docs = await api().get('/docs').set('Accept', 'text/html').expect(200);
    expect(docs.text).toMatch(/swagger/i);
    await api().post('/').set('Accept', 'text/html').expect(404);
  });

  it('ships no secret and loads nothing from another origin', async () => {
    const index = (await api().get('/').expect(200)).text;
    expect(index).not.toMatch(/https?:\/\//);
    for (const f of readdirSync(join(root, 'assets'))) {
      const body = (await api().get(`/assets/${f}`).expect(200)).text;
      expect(body).not.toContain(t.config.adminToken ?? 'no admin token configured');
      // No stylesheet, font or script from elsewhere (URLs in library comments and docs links are no loads).
      expect(body).not.toMatch(/@import\s+url\(|src=["']https?:|url\(["']?https?:/);
    }
  });
});
