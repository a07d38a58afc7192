import request from 'supertest';
import { createPrincipal } from './support/principals';
import { startTestApp, TestApp } from './support/test-app';

describe('rate limiting per principal', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_RATE_LIMIT: '5/minute', CONSTELLATION_PROBE_SECONDS: '0' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with Retry-After after the limit, counting per principal across routes', async () => {
    const a = await createPrincipal(t, 'provider');
    const b = await createPrincipal(t, 'provider');
    // Bearer and Basic are the same principal, and different routes share one budget.
    await request(t.url).get('/api/v1/sites').set('Authorization', a.bearer).expect(200);
    await request(t.url).get('/api/v1/data-stores').set('Authorization', a.basic).expect(200);
    await request(t.url).get('/api/v1/principals/me').set('Authorization', a.bearer).expect(200);
    await request(t.url).get('/api/v1/sites').set('Authorization', a.basic).expect(200);
    await request(t.url).get('/api/v1/sites').set('Authorization', a.bearer).expect(200);
    const limited = await request(t.url).get('/api/v1/sites').set('Authorization', a.bearer).expect(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body).toEqual({
      code: 'RATE_LIMITED',
      message: `rate limit of 5 requests per 60 s exceeded; retry in ${retryAfter} s`,
      request_id: limited.headers['x-request-id'],
    });
    // Another principal from the same IP is not affected.
    await request(t.url).get('/api/v1/sites').set('Authorization', b.bearer).expect(200);
  });
});
