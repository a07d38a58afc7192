import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { startDispatchApp, untilFinished } from './support/dispatch-suite';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTcpForwarder, type TcpForwarder } from './support/tcp-forwarder';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

jest.setTimeout(60_000);

/**
 * Onboarding a site as a provider does it: registered (pending, probed but given no task), self-tested, and
 * approved only once its self-test passed (CONSTELLATION_REQUIRE_SELF_TEST_FOR_APPROVAL).
 */
describe('site onboarding: probes before approval, self-test required for approval', () => {
  let t: TestApp;
  let forwarder: TcpForwarder;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let alice: TestPrincipal;
  let fake: FakeTesSite;
  // Its own database: with other suites' sites approved, a task for the pending site alone would be
  // infeasible (and fail) instead of waiting for the approval this test is about.
  const db = new OwnDatabase(`${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_onboarding`);

  beforeAll(async () => {
    forwarder = await startTcpForwarder();
    await db.create();
    t = await startDispatchApp({
      DATABASE_URL: db.url,
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      CONSTELLATION_PENDING_PROBE_SECONDS: '1',
      CONSTELLATION_REQUIRE_SELF_TEST_FOR_APPROVAL: 'true',
    });
    forwarder.pointAt(t.url);
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
    alice = await createPrincipal(t, 'submitter');
    fake = await startFakeTesSite({ transfers: true, requireToken: 'tes-token', stepDelayMs: 10 });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await forwarder?.close();
    await db.drop();
  });

  const register = async (token: string) => {
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument({ kind: 'tes', url: fake.url, credentials: { token } }))
      .expect(201);
    return res.body as { id: string; slug: string };
  };
  const site = async (ref: string) =>
    (await request(t.url).get(`/api/v1/sites/${ref}`).set('Authorization', admin.bearer).expect(200)).body;
  const approve = (ref: string) =>
    request(t.url).post(`/api/v1/sites/${ref}/approve`).set('Authorization', admin.bearer);
  const selfTest = async (ref: string) =>
    (await request(t.url).post(`/api/v1/sites/${ref}/test`).set('Authorization', provider.bearer).expect(200))
      .body;

  it('probes a pending site, gives it no task, and approves it only after a passing self-test', async () => {
    const { id, slug } = await register('wrong');
    // Probed while pending: the wrong token shows before anyone approves the site.
    const probed = await waitFor('a probe of the pending site', async () => {
      const s = await site(id);
      return s.probe.last_probe_at !== null ? s : undefined;
    });
    expect(probed.admin_state).toBe('pending');
    expect(probed.probe.last_error).toContain('HTTP 401');

    const refused = await approve(slug);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CONFLICT');
    expect(refused.body.message).toBe(
      `cannot approve site ${slug}: this broker requires a passing self-test before approval, and it has no ` +
        `self-test yet; run POST /api/v1/sites/${slug}/test (or npm run cli -- site test ${slug}) and fix what fails`,
    );

    const failed = await selfTest(slug);
    expect(failed.ok).toBe(false);
    const again = await approve(slug);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain(`its last self-test (${failed.finished_at}) failed`);

    // The provider fixes the token; the site is up while still pending.
    await request(t.url)
      .patch(`/api/v1/sites/${slug}`)
      .set('Authorization', provider.bearer)
      .send({ credentials: { token: 'tes-token' } })
      .expect(200);
    await waitFor('the pending site up', async () => ((await site(id)).health === 'up' ? true : undefined));

    // A task meant for the site waits: a pending site never receives one, up or not.
    const { body } = await tes(t.url, alice)
      .create({ executors: [{ image: 'alpine', command: ['echo', 'hi'] }], resources: { zones: [slug] } })
      .expect(200);
    await delay(1500);
    expect((await tes(t.url, alice).get(body.id)).body.state).toBe('QUEUED');
    expect(fake.tasks().filter((task) => task.tags?.['constellation.task'] === body.id)).toEqual([]);

    expect((await selfTest(slug)).ok).toBe(true);
    const approved = await approve(slug);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ admin_state: 'active', last_self_test: { ok: true } });
    // Approved, the same site takes the waiting task: only its admin state had kept it away.
    const done = await untilFinished(tes(t.url, alice), body.id);
    expect(done.state).toBe('COMPLETE');
    expect(fake.tasks().filter((task) => task.tags?.['constellation.task'] === body.id)).toHaveLength(1);

    const events = await request(t.url)
      .get(`/api/v1/sites/${slug}/events`)
      .set('Authorization', provider.bearer)
      .expect(200);
    expect(
      events.body.events
        .filter((e: { kind: string }) => e.kind === 'self_test')
        .map((e: { to: string }) => e.to),
    ).toEqual(['failed', 'passed']);
  });
});
