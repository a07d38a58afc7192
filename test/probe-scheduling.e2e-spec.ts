import request from 'supertest';
import { DataSource } from 'typeorm';
import { ProbeLoop } from '../libs/dispatch/src/probe.loop';
import { ProbeService } from '../libs/dispatch/src/probe.service';
import { SiteHealthRepository } from '@constellation/registry';
import { startFakePulsarSite, FakePulsarSite } from '@constellation/testing';
import { startFakeSite, FakeSite } from './support/fake-site';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/**
 * When probes run, with the probe interval far longer than any test: every probe seen here was caused by an
 * action, a due time stored in the database, or a starting replica, never by the interval running out.
 */
describe('probe scheduling', () => {
  // A database of its own: the rounds here (a starting replica's, probeDueSites, ProbeLoop.tick) probe every due
  // site, and on the run's database that is every site other suites left, probed before the sites counted here.
  const own = OwnDatabase.besideRun('probe_scheduling');
  // The loop still looks for due sites every 5 s (probePollSeconds): the waits of 2 s below stay under that, so
  // a probe they see was asked for by the action or the start, not found by the look.
  const HOUR = { DATABASE_URL: own.url, CONSTELLATION_PROBE_SECONDS: '3600' };
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  const fakes: Array<FakeSite | FakePulsarSite> = [];
  const others: TestApp[] = [];

  const fakeSite = async () => {
    const f = await startFakeSite();
    fakes.push(f);
    return f;
  };
  const otherReplica = async () => {
    const app = await startTestApp(HOUR);
    others.push(app);
    return app;
  };
  const register = async (url: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument({ kind: 'pulsar-rest', url, pulsar_manager: null, ...extra }))
      .expect(201);
    return res.body.id;
  };
  const act = (id: string, action: string, who: TestPrincipal, on: TestApp = t) =>
    request(on.url).post(`/api/v1/sites/${id}/${action}`).set('Authorization', who.bearer).expect(200);
  const siteOf = async (id: string, on: TestApp = t) =>
    (await request(on.url).get(`/api/v1/sites/${id}`).set('Authorization', admin.bearer).expect(200)).body;
  /** The interval ran out `seconds` ago while no replica was looking. */
  const dueSince = (id: string, seconds: number) =>
    t.app
      .get(DataSource)
      .query(`UPDATE site SET next_probe_at = now() - make_interval(secs => $2) WHERE id = $1`, [
        id,
        seconds,
      ]);
  const probedAt = async (id: string): Promise<string | null> => (await siteOf(id)).probe.last_probe_at;

  beforeAll(async () => {
    await own.create();
    t = await startTestApp(HOUR);
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
  });
  afterAll(async () => {
    for (const app of others) await app.close();
    await t?.close();
    await Promise.all(fakes.map((f) => ('close' in f ? f.close() : f.down())));
    await own.drop();
  });

  it('probes a site as soon as an admin approves it, not one interval later', async () => {
    const fake = await fakeSite();
    const id = await register(fake.url);
    expect((await siteOf(id)).health).toBe('unknown');
    await act(id, 'approve', admin);
    const s = await waitFor(
      'the approved site to be up',
      async () => {
        const v = await siteOf(id);
        return v.health === 'up' ? v : undefined;
      },
      2000,
    );
    expect(fake.hits()).toBe(1);
    expect(s.probe).toMatchObject({ consecutive_failures: 0, last_error: null });
    // The next probe is due one interval after this one, in the database.
    const [{ next }] = await t.app
      .get(DataSource)
      .query(
        `SELECT extract(epoch FROM next_probe_at - last_probe_at)::integer AS next FROM site WHERE id = $1`,
        [id],
      );
    expect(next).toBe(3600);
  });

  it('counts a failed probe after approval as an ordinary probe failure', async () => {
    const fake = await fakeSite();
    fake.respondWith(503);
    const id = await register(fake.url);
    await act(id, 'approve', admin);
    const probe = await waitFor('the failed probe to be recorded', async () => {
      const p = (await siteOf(id)).probe;
      return p.consecutive_failures === 1 ? p : undefined;
    });
    expect(probe.last_error).toBe('unreachable: GET /healthz: HTTP 503');
    expect((await siteOf(id)).health).toBe('unknown');
  });

  it('probes again at once when the owner edits the site or it is resumed, and not for a repeated approve', async () => {
    const first = await fakeSite();
    const id = await register(first.url);
    await act(id, 'approve', admin);
    await waitFor('the first probe', async () => (first.hits() === 1 ? true : undefined));

    // The owner moves the site to a new endpoint; an admin re-approves it.
    const moved = await fakeSite();
    await request(t.url)
      .patch(`/api/v1/sites/${id}`)
      .set('Authorization', provider.bearer)
      .send({ url: moved.url })
      .expect(200);
    expect((await siteOf(id)).admin_state).toBe('pending');
    await act(id, 'approve', admin);
    await waitFor('a probe of the new endpoint', async () => (moved.hits() === 1 ? true : undefined), 2000);

    // An edit that keeps the site active (capacity) probes it too: the site's answer may have changed.
    await request(t.url)
      .patch(`/api/v1/sites/${id}`)
      .set('Authorization', provider.bearer)
      .send({ capacity: { max_concurrent_tasks: 7 } })
      .expect(200);
    await waitFor('a probe after the edit', async () => (moved.hits() === 2 ? true : undefined), 2000);

    await act(id, 'disable', provider);
    await act(id, 'resume', admin);
    await waitFor('a probe after resuming', async () => (moved.hits() === 3 ? true : undefined), 2000);

    // Draining changes nothing a probe sees; a repeated approve is a no-op and probes nothing.
    const before = await probedAt(id);
    await act(id, 'drain', provider);
    await act(id, 'resume', provider);
    await waitFor('a probe after resuming a drained site', async () =>
      moved.hits() === 4 ? true : undefined,
    );
    await act(id, 'approve', admin);
    await t.app.get(ProbeService).probeDueSites();
    expect(moved.hits()).toBe(4);
    expect(await probedAt(id)).not.toBe(before);
    expect(first.hits()).toBe(1);
  });

  it('keeps a site due after an edit made while it was being probed', async () => {
    const fake = await fakeSite();
    const id = await register(fake.url);
    await act(id, 'approve', admin);
    await waitFor('the first probe', async () => (fake.hits() === 1 ? true : undefined));
    await dueSince(id, 1);
    const repo = t.app.get(SiteHealthRepository);
    const [claimed] = await repo.claimDue('replica-x', new Date(), 30, 1, [], id);
    expect(claimed.id).toBe(id);
    // The probe of replica-x is in flight when the owner changes the site; its request to probe is refused
    // (the site is leased), and replica-x's result must not push the next probe an interval away.
    await request(t.url)
      .patch(`/api/v1/sites/${id}`)
      .set('Authorization', provider.bearer)
      .send({ display_name: 'renamed while probed' })
      .expect(200);
    const later = new Date(Date.now() + 3_600_000);
    await repo.record(id, 'replica-x', { ok: true, latencyMs: 3 }, new Date(), later, 3);
    const [{ next }] = await t.app
      .get(DataSource)
      .query('SELECT next_probe_at AS next FROM site WHERE id = $1', [id]);
    expect(next).toBeNull();
    await t.app.get(ProbeService).probeDueSites();
    await waitFor('the site to be probed again', async () => (fake.hits() === 2 ? true : undefined));
  });

  it('a restarted broker probes the sites that fell due, and not one probed a moment ago', async () => {
    const fresh = await fakeSite();
    const stale = await fakeSite();
    const freshId = await register(fresh.url);
    const staleId = await register(stale.url);
    await act(freshId, 'approve', admin);
    await act(staleId, 'approve', admin);
    await waitFor('both first probes', async () =>
      fresh.hits() === 1 && stale.hits() === 1 ? true : undefined,
    );
    const freshProbedAt = await probedAt(freshId);
    await dueSince(staleId, 10);

    // The broker restarts: a new process on the same database, whose timers start afresh.
    await t.close();
    t = await startTestApp(HOUR);
    const restarted = t;
    await waitFor(
      'the due site to be probed by the new replica',
      async () => (stale.hits() === 2 ? true : undefined),
      2000,
    );
    // Drive one more whole round there: the site probed a moment ago is still not due.
    await restarted.app.get(ProbeService).probeDueSites();
    expect(fresh.hits()).toBe(1);
    expect(await probedAt(freshId)).toBe(freshProbedAt);
  });

  it('makes a Pulsar without /healthz (0.15.6) up, and still fails it for a wrong token', async () => {
    const old = await startFakePulsarSite({ version: '0.15.6', token: 'old-pulsar-token-5' });
    fakes.push(old);
    const id = await register(old.url, { credentials: { token: 'old-pulsar-token-5' } });
    await act(id, 'approve', admin);
    const up = await waitFor('the old Pulsar to be up', async () => {
      const v = await siteOf(id);
      return v.health === 'up' ? v : undefined;
    });
    expect(up.probe).toMatchObject({ version: '0.15.6', consecutive_failures: 0, last_error: null });

    await request(t.url)
      .patch(`/api/v1/sites/${id}`)
      .set('Authorization', provider.bearer)
      .send({ credentials: { token: 'not-the-token' } })
      .expect(200);
    const failed = await waitFor('the probe with the wrong token', async () => {
      const p = (await siteOf(id)).probe;
      return p.consecutive_failures === 1 ? p : undefined;
    });
    expect(failed.last_error).toBe(
      'auth_failed: GET /jobs/constellation-probe/status: HTTP 401, the site refused our token',
    );
    expect(old.job('constellation-probe')).toBeUndefined();
  });

  it('two replicas on one database probe a due site once per interval', async () => {
    const fake = await fakeSite();
    const id = await register(fake.url);
    await act(id, 'approve', admin);
    await waitFor('the first probe', async () => (fake.hits() === 1 ? true : undefined));
    const second = await otherReplica();
    // A slow site keeps the probe in flight while every round of both replicas looks for due sites.
    fake.answerAfter(300);
    await dueSince(id, 1);
    const rounds = () => [
      t.app.get(ProbeLoop).tick(),
      second.app.get(ProbeLoop).tick(),
      t.app.get(ProbeService).probeDueSites(),
      second.app.get(ProbeService).probeDueSites(),
      t.app.get(ProbeService).probeSite(id),
      second.app.get(ProbeService).probeSite(id),
    ];
    await Promise.all(rounds());
    await waitFor('the probe to be recorded', async () =>
      (await siteOf(id)).probe.latency_ms >= 300 ? true : undefined,
    );
    expect(fake.hits()).toBe(2);
    await Promise.all(rounds());
    expect(fake.hits()).toBe(2);
  });
});
