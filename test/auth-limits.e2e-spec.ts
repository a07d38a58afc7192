import request from 'supertest';
import { DataSource } from 'typeorm';
import type pino from 'pino';
import { AuthService } from '../libs/auth/src/auth.service';
import { FAILED_LOGINS_PER_MINUTE } from '../libs/auth/src/failed-login-limiter';
import { REQUEST_LINE_LOGGER } from '@constellation/observability';
import { createPrincipal, TestPrincipal } from './support/principals';
import { MINIMAL_TASK } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

describe('auth: failed-login limit, role changes and the last admin', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('makes a role change take effect on the next request', async () => {
    const admin = await createPrincipal(t, 'admin');
    const user = await createPrincipal(t, 'submitter');
    await request(t.url).post('/v1/tasks').set('Authorization', user.bearer).send(MINIMAL_TASK).expect(200);
    await request(t.url)
      .patch(`/api/v1/principals/${user.name}`)
      .set('Authorization', admin.bearer)
      .send({ role: 'provider' })
      .expect(200);
    const res = await request(t.url)
      .post('/v1/tasks')
      .set('Authorization', user.bearer)
      .send(MINIMAL_TASK)
      .expect(403);
    expect(res.body.message).toBe('this operation needs the role submitter or admin');
  });

  it('keeps at least one admin: demoting the last one is a 409', async () => {
    const db = t.app.get(DataSource);
    // Leave exactly one admin: the one this test makes (other admins of this run become submitters).
    const only: TestPrincipal = await createPrincipal(t, 'admin');
    await db.query(`UPDATE principal SET role = 'submitter' WHERE role = 'admin' AND id <> $1`, [only.id]);
    const res = await request(t.url)
      .patch(`/api/v1/principals/${only.name}`)
      .set('Authorization', only.bearer)
      .send({ role: 'submitter' })
      .expect(409);
    expect(res.body.message).toBe(`${only.name} is the last admin; make another admin first`);
    const second = await createPrincipal(t, 'admin');
    await request(t.url)
      .patch(`/api/v1/principals/${second.name}`)
      .set('Authorization', only.bearer)
      .send({ role: 'submitter' })
      .expect(200);
  });

  it('restores the bootstrap admin at start-up and warns about a revoked configured token', async () => {
    const auth = t.app.get(AuthService);
    const db = t.app.get(DataSource);
    await db.query(`UPDATE principal SET role = 'submitter' WHERE name = 'admin'`);
    await db.query(`UPDATE api_token SET revoked_at = now() WHERE description = 'CONSTELLATION_ADMIN_TOKEN'`);
    const { warnings } = await auth.bootstrapAdmin(t.config.adminToken);
    expect(warnings).toEqual([
      'the principal "admin" had the role submitter; it is an admin again',
      'CONSTELLATION_ADMIN_TOKEN was revoked (rotated?) and is not accepted; set the current one',
    ]);
    const [{ role }] = await db.query(`SELECT role FROM principal WHERE name = 'admin'`);
    expect(role).toBe('admin');
  });

  it('answers a principal reference PostgreSQL cannot compare with 404', async () => {
    const admin = await createPrincipal(t, 'admin');
    await request(t.url).get('/api/v1/principals/a%00b').set('Authorization', admin.bearer).expect(404);
  });

  it(`refuses an address after ${FAILED_LOGINS_PER_MINUTE} failed authentications in a minute, valid tokens included`, async () => {
    const fresh = await startTestApp();
    try {
      const good = await createPrincipal(fresh, 'submitter');
      const bad = `Bearer ${'x'.repeat(43)}`;
      for (let i = 0; i < FAILED_LOGINS_PER_MINUTE; i++) {
        await request(fresh.url).get('/v1/tasks').set('Authorization', bad).expect(401);
      }
      const blocked = await request(fresh.url).get('/v1/tasks').set('Authorization', bad).expect(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.body.code).toBe('RATE_LIMITED');
      await request(fresh.url).get('/v1/tasks').set('Authorization', good.bearer).expect(429);
      // Public routes stay open.
      await request(fresh.url).get('/v1/service-info').expect(200);
    } finally {
      await fresh.close();
    }
  });

  describe('client address behind proxies', () => {
    const bad = `Bearer ${'x'.repeat(43)}`;
    /** A request with a wrong token, as forwarded by a proxy that names `forwardedFor` when given. */
    const badLogin = (app: TestApp, forwardedFor?: string) => {
      const req = request(app.url).get('/v1/tasks').set('Authorization', bad);
      return forwardedFor === undefined ? req : req.set('X-Forwarded-For', forwardedFor);
    };
    /** The remoteAddress of every request line the app writes from now on. */
    const loggedAddresses = (app: TestApp): string[] => {
      const lines = app.app.get<pino.Logger>(REQUEST_LINE_LOGGER);
      const seen: string[] = [];
      jest.spyOn(lines, 'info').mockImplementation(((fields: { req?: { remoteAddress?: string } }) => {
        if (fields.req?.remoteAddress !== undefined) seen.push(fields.req.remoteAddress);
      }) as pino.LogFn);
      return seen;
    };

    it('ignores X-Forwarded-For from loopback when no proxy is trusted: the limit bites on the socket address', async () => {
      const fresh = await startTestApp({ CONSTELLATION_TRUSTED_PROXIES: '' });
      try {
        const logged = loggedAddresses(fresh);
        // A new forged address on every attempt would dodge a limit keyed on the header.
        for (let i = 0; i < FAILED_LOGINS_PER_MINUTE; i++) {
          await badLogin(fresh, `198.51.100.${i}`).expect(401);
        }
        await badLogin(fresh, '198.51.100.250').expect(429);
        // The failures were counted against the socket's address, whatever the header named.
        const own = await badLogin(fresh).expect(429);
        expect(own.body.code).toBe('RATE_LIMITED');
        expect(new Set(logged)).toEqual(new Set(['127.0.0.1']));
      } finally {
        await fresh.close();
      }
    });

    it('honours X-Forwarded-For from a proxy listed in CONSTELLATION_TRUSTED_PROXIES', async () => {
      const fresh = await startTestApp({ CONSTELLATION_TRUSTED_PROXIES: '127.0.0.1' });
      try {
        const logged = loggedAddresses(fresh);
        for (let i = 0; i < FAILED_LOGINS_PER_MINUTE; i++) {
          // The hop the client added itself is not believed: the proxy's own entry (the last) names it.
          await badLogin(fresh, '10.1.1.1, 203.0.113.5').expect(401);
        }
        await badLogin(fresh, '203.0.113.5').expect(429);
        // Other clients behind the proxy, and the proxy itself, are not locked out.
        await badLogin(fresh, '203.0.113.6').expect(401);
        await badLogin(fresh).expect(401);
        expect(logged.slice(0, FAILED_LOGINS_PER_MINUTE + 3)).toEqual([
          ...Array(FAILED_LOGINS_PER_MINUTE + 1).fill('203.0.113.5'),
          '203.0.113.6',
          '127.0.0.1',
        ]);
      } finally {
        await fresh.close();
      }
    });
  });
});
