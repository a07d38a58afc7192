import request from 'supertest';
import { DataSource } from 'typeorm';
import { newId } from '@constellation/common';
import { probeClaims } from '../libs/dispatch/src/leased-claims';
import { ProbeService, SiteProber } from '../libs/dispatch/src/probe.service';
import { ProbeTarget, SiteHealthRepository } from '@constellation/registry';
import { LOAD_REFRESH_LOCK_KEY } from '../libs/registry/src/site-health.repository';
import { startFakeSite, FakeSite } from './support/fake-site';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

describe('health probes and observed load', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let fake: FakeSite;
  let probes: ProbeService;
  let siteId: string;
  // A database of its own: the rounds here take every site due by their clock, an hour or more ahead, in batches
  // of 256, and the test counts what a round took; on the run's database that is every site other suites left.
  const own = OwnDatabase.besideRun('probes');
  // Probes are driven with an explicit clock: each round is one probe interval after the last.
  let clock = Date.now();
  const round = () => {
    clock += 60_000;
    return probes.probeDueSites(new Date(clock));
  };

  beforeAll(async () => {
    await own.create();
    // The timer is off (0): the test calls the same method the timer calls.
    t = await startTestApp({
      DATABASE_URL: own.url,
      CONSTELLATION_PROBE_SECONDS: '0',
      CONSTELLATION_PROBE_FAILURES: '2',
    });
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
    probes = t.app.get(ProbeService);
    fake = await startFakeSite();
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      // Probed through the Pulsar REST adapter (GET /healthz); any JSON answer is a live Pulsar here.
      .send(siteDocument({ kind: 'pulsar-rest', url: fake.url, pulsar_manager: null }))
      .expect(201);
    siteId = res.body.id;
  });
  afterAll(async () => {
    await fake?.down();
    await t?.close();
    await own.drop();
  });

  const site = async () =>
    (await request(t.url).get(`/api/v1/sites/${siteId}`).set('Authorization', admin.bearer).expect(200)).body;

  it('probes a pending site before approval, at the pending interval, so its health is known', async () => {
    let r = await round();
    expect(r.changes.filter((c) => c.siteId === siteId)).toEqual([
      { siteId, slug: expect.any(String), from: 'unknown', to: 'up' },
    ]);
    expect(fake.hits()).toBe(1);
    expect(await site()).toMatchObject({ admin_state: 'pending', health: 'up' });
    // One probe interval (60 s here) is well inside CONSTELLATION_PENDING_PROBE_SECONDS (300 s by default).
    r = await round();
    expect(fake.hits()).toBe(1);
  });

  it('marks an approved site up, then offline after N failures, then up again, never touching admin_state', async () => {
    await request(t.url)
      .post(`/api/v1/sites/${siteId}/approve`)
      .set('Authorization', admin.bearer)
      .expect(200);

    // Approval makes the site due at once; it was already up from its pending probe.
    let r = await round();
    expect(r.changes.filter((c) => c.siteId === siteId)).toEqual([]);
    expect(fake.hits()).toBe(2);
    let s = await site();
    expect(s.health).toBe('up');
    expect(s.probe.consecutive_failures).toBe(0);
    expect(s.probe.latency_ms).toBeGreaterThanOrEqual(0);
    expect(s.probe.last_ok_at).toBe(new Date(clock).toISOString());

    await fake.down();
    r = await round();
    expect(r.changes.filter((c) => c.siteId === siteId)).toEqual([]);
    s = await site();
    expect(s).toMatchObject({ health: 'up', admin_state: 'active' });
    expect(s.probe).toMatchObject({
      consecutive_failures: 1,
      latency_ms: null,
      last_error: 'unreachable: GET /healthz: connection refused',
    });

    r = await round();
    expect(r.changes.filter((c) => c.siteId === siteId).map((c) => [c.from, c.to])).toEqual([
      ['up', 'offline'],
    ]);
    s = await site();
    expect(s).toMatchObject({ health: 'offline', admin_state: 'active' });
    expect(s.probe.consecutive_failures).toBe(2);

    await fake.up();
    fake.respondWith(503);
    r = await round();
    s = await site();
    expect(s).toMatchObject({ health: 'offline' });
    expect(s.probe).toMatchObject({
      consecutive_failures: 3,
      last_error: expect.stringContaining('HTTP 503'),
    });

    fake.respondWith(401); // answering, but refusing the broker's token: no use to it
    r = await round();
    expect((await site()).probe).toMatchObject({ consecutive_failures: 4 });
    expect((await site()).health).toBe('offline');

    fake.respondWith(200);
    r = await round();
    expect(r.changes.filter((c) => c.siteId === siteId).map((c) => [c.from, c.to])).toEqual([
      ['offline', 'up'],
    ]);
    s = await site();
    expect(s).toMatchObject({ health: 'up', admin_state: 'active' });
    expect(s.probe).toMatchObject({ consecutive_failures: 0, last_error: null });

    const events = await request(t.url)
      .get(`/api/v1/sites/${siteId}/events`)
      .set('Authorization', provider.bearer)
      .expect(200);
    const health = events.body.events.filter((e: { kind: string }) => e.kind === 'health');
    expect(
      health.map((e: { from: string; to: string; actor_id: null }) => [e.from, e.to, e.actor_id]),
    ).toEqual([
      ['unknown', 'up', null],
      ['up', 'offline', null],
      ['offline', 'up', null],
    ]);
    expect(health[1].reason).toBe(
      '2 consecutive probe failures; last: unreachable: GET /healthz: connection refused',
    );
  });

  it('keeps probing a draining site and stops probing a disabled one', async () => {
    await request(t.url)
      .post(`/api/v1/sites/${siteId}/drain`)
      .set('Authorization', provider.bearer)
      .expect(200);
    const before = fake.hits();
    await round();
    expect(fake.hits()).toBe(before + 1);
    await request(t.url)
      .post(`/api/v1/sites/${siteId}/disable`)
      .set('Authorization', provider.bearer)
      .expect(200);
    await round();
    expect(fake.hits()).toBe(before + 1);
    await request(t.url)
      .post(`/api/v1/sites/${siteId}/resume`)
      .set('Authorization', admin.bearer)
      .expect(200);
  });

  it('leases a site to one replica: a second claimer gets nothing until the lease expires', async () => {
    const repo = t.app.get(SiteHealthRepository);
    const at = new Date(clock + 3_600_000);
    const a = await repo.claimDue('replica-a', at, 30, 100);
    const b = await repo.claimDue('replica-b', at, 30, 100);
    expect(a.map((x) => x.id)).toContain(siteId);
    expect(b.map((x) => x.id)).not.toContain(siteId);
    // Replica a died: after its lease, b takes over, and a's late result is ignored.
    const later = new Date(at.getTime() + 31_000);
    const c = await repo.claimDue('replica-b', later, 30, 100);
    expect(c.map((x) => x.id)).toContain(siteId);
    expect(
      await repo.record(siteId, 'replica-a', { ok: false, latencyMs: null, error: 'late' }, later, later, 1),
    ).toBeNull();
    expect(await repo.record(siteId, 'replica-b', { ok: true, latencyMs: 5 }, later, later, 1)).toBeNull();
    expect((await site()).probe.latency_ms).toBe(5);
    clock = later.getTime();
  });

  it("keeps each site's load from the broker's own task table", async () => {
    const db = t.app.get(DataSource);
    const states = ['RUNNING', 'RUNNING', 'CANCELING', 'INITIALIZING', 'QUEUED', 'COMPLETE'];
    for (const state of states) {
      const now = new Date();
      await db.query(
        `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, site_id, version)
         VALUES ($1, $2, 'load', $3, '{}', '{}', $4, $4, $5, 1)`,
        [newId(), admin.id, state, now, state === 'QUEUED' ? null : siteId],
      );
    }
    await probes.refreshLoad(new Date(clock));
    let s = await site();
    // 3 running + 1 queued < 20 slots: a slot is free, so no wait.
    expect(s.load).toMatchObject({
      running: 3,
      queued: 1,
      estimated_wait_seconds: 0,
      updated_at: new Date(clock).toISOString(),
    });

    await request(t.url)
      .patch(`/api/v1/sites/${siteId}`)
      .set('Authorization', provider.bearer)
      .send({ capacity: { max_concurrent_tasks: 4 } })
      .expect(200);
    await probes.refreshLoad(new Date(clock));
    s = await site();
    expect(s.load).toMatchObject({ running: 3, queued: 1, estimated_wait_seconds: null });
  });

  describe('rounds on more than one replica', () => {
    const replicaWith = (prober: SiteProber) =>
      new ProbeService(t.app.get(SiteHealthRepository), { ...t.config, probeSeconds: 60 }, prober);
    const activeSites = async (n: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await request(t.url)
          .post('/api/v1/sites')
          .set('Authorization', provider.bearer)
          .send(siteDocument({ kind: 'tes', url: 'https://unused.invalid/', pulsar_manager: null }))
          .expect(201);
        await request(t.url)
          .post(`/api/v1/sites/${res.body.id}/approve`)
          .set('Authorization', admin.bearer)
          .expect(200);
        ids.push(res.body.id);
      }
      return ids;
    };
    const leasedBy = async (replica: string): Promise<number> => {
      const [{ n }] = await t.app
        .get(DataSource)
        .query('SELECT count(*)::integer AS n FROM site WHERE probe_claimed_by = $1', [replica]);
      return n;
    };

    it('leases only the sites a replica is probing, so another replica takes the rest, each once', async () => {
      const ids = await activeSites(20);
      const probedBy: Record<string, string[]> = { a: [], b: [] };
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let inFlight = 0;
      const a = replicaWith(async (target: ProbeTarget) => {
        probedBy.a.push(target.id);
        inFlight++;
        await gate;
        return { ok: true, latencyMs: 1 };
      });
      const b = replicaWith(async (target: ProbeTarget) => {
        probedBy.b.push(target.id);
        return { ok: true, latencyMs: 1 };
      });
      const at = new Date(clock + 3_600_000);
      const roundA = a.probeDueSites(at);
      while (inFlight < 16) await new Promise((r) => setTimeout(r, 10));
      // 16 probes hang; the replica holds leases on those 16 only, not on every due site.
      expect(await leasedBy(a.replica)).toBe(16);
      const rb = await b.probeDueSites(at);
      expect(rb.probed).toBeGreaterThanOrEqual(4);
      release();
      const ra = await roundA;
      expect(ra.probed).toBe(16);
      const all = [...probedBy.a, ...probedBy.b];
      expect(new Set(all).size).toBe(all.length);
      for (const id of ids) expect(all).toContain(id);
      expect(await leasedBy(a.replica)).toBe(0);
      clock = at.getTime() + 60_000;
    });

    it('hands the probe of a replica that died mid-probe to another once its lease ran out, once', async () => {
      const [stuck] = await activeSites(1);
      const lease = t.config.leaseSeconds;
      let wake!: () => void;
      const never = new Promise<void>((r) => (wake = r));
      let stuckClaimed = false;
      // Replica a claims the site and never answers: as good as dead while its lease lasts.
      const a = replicaWith(async (target: ProbeTarget) => {
        if (target.id !== stuck) return { ok: true, latencyMs: 1 };
        stuckClaimed = true;
        await never;
        return { ok: false, latencyMs: null, error: 'a dead replica wrote this' };
      });
      const probedByB: string[] = [];
      const b = replicaWith(async (target: ProbeTarget) => {
        probedByB.push(target.id);
        return { ok: true, latencyMs: 7 };
      });
      const at = new Date(clock + 3_600_000);
      const roundA = a.probeDueSites(at);
      while (!stuckClaimed) await new Promise((r) => setTimeout(r, 10));

      await b.probeDueSites(new Date(at.getTime() + (lease - 1) * 1000));
      expect(probedByB).not.toContain(stuck);
      await b.probeDueSites(new Date(at.getTime() + (lease + 1) * 1000));
      expect(probedByB.filter((id) => id === stuck)).toHaveLength(1);

      wake();
      await roundA;
      const s = (
        await request(t.url).get(`/api/v1/sites/${stuck}`).set('Authorization', admin.bearer).expect(200)
      ).body;
      expect(s.probe).toMatchObject({ latency_ms: 7, consecutive_failures: 0 });
      clock = at.getTime() + 3_600_000;
    });

    it('keeps a renewed probe lease from other replicas, and hands a released one on at once', async () => {
      const [id] = await activeSites(1);
      const health = t.app.get(SiteHealthRepository);
      const lease = t.config.leaseSeconds;
      const at = new Date(clock + 3_600_000);
      const after = (s: number) => new Date(at.getTime() + s * 1000);
      const claimer = (replica: string, now: Date) => probeClaims(health, replica, lease, now, id);

      const target = await claimer('replica-a', at).claim();
      expect(target?.id).toBe(id);
      expect(await claimer('replica-b', at).claim()).toBeUndefined();
      // Renewed before it ran out: still replica a's after the first lease would have ended.
      expect(await claimer('replica-a', after(lease - 1)).renew(target!)).toBe(true);
      expect(await claimer('replica-b', after(lease + 1)).claim()).toBeUndefined();
      // A renewal by a replica that never held it changes nothing.
      expect(await claimer('replica-b', after(lease + 1)).renew(target!)).toBe(false);
      await claimer('replica-a', after(lease + 1)).release(target!);
      expect((await claimer('replica-b', after(lease + 1)).claim())?.id).toBe(id);
      // Replica a lost it: its renewal says so.
      expect(await claimer('replica-a', after(lease + 2)).renew(target!)).toBe(false);
      await health.record(
        id,
        'replica-b',
        { ok: true, latencyMs: 2 },
        after(lease + 2),
        after(lease + 62),
        1,
      );
      clock = at.getTime() + 3_600_000;
    });

    it('records a prober that throws as a failed probe and releases every lease', async () => {
      const [bad] = await activeSites(1);
      const p = replicaWith(async (target: ProbeTarget) => {
        if (target.id === bad) throw new Error('boom');
        return { ok: true, latencyMs: 1 };
      });
      const r = await p.probeDueSites(new Date(clock + 3_600_000));
      expect(r.probed).toBeGreaterThan(1);
      expect(await leasedBy(p.replica)).toBe(0);
      const s = (
        await request(t.url).get(`/api/v1/sites/${bad}`).set('Authorization', admin.bearer).expect(200)
      ).body;
      expect(s.probe).toMatchObject({ consecutive_failures: 1, last_error: 'probe error: boom' });
      clock += 3_600_000 + 60_000;
    });
  });

  describe('load refresh', () => {
    const loadOf = async () =>
      (await request(t.url).get(`/api/v1/sites/${siteId}`).set('Authorization', admin.bearer).expect(200))
        .body.load;

    it('writes only sites whose load changed', async () => {
      const first = new Date(clock + 1000);
      await probes.refreshLoad(first);
      const before = await loadOf();
      const rows = await t.app
        .get(DataSource)
        .query('SELECT xmin::text AS x FROM site WHERE id = $1', [siteId]);
      expect(await probes.refreshLoad(new Date(clock + 2000))).toBe(true);
      const after = await loadOf();
      expect(after).toEqual(before);
      const again = await t.app
        .get(DataSource)
        .query('SELECT xmin::text AS x FROM site WHERE id = $1', [siteId]);
      // Not rewritten: the row version is the same.
      expect(again[0].x).toBe(rows[0].x);
    });

    it('lets one replica refresh at a time: the others skip while the lock is held', async () => {
      const db = t.app.get(DataSource);
      const before = await loadOf();
      await db.query(
        `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, site_id, version)
         VALUES ($1, $2, 'load', 'RUNNING', '{}', '{}', now(), now(), $3, 1)`,
        [newId(), admin.id, siteId],
      );
      const holder = db.createQueryRunner();
      await holder.connect();
      await holder.startTransaction();
      try {
        await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [LOAD_REFRESH_LOCK_KEY]);
        expect(await probes.refreshLoad(new Date(clock + 3000))).toBe(false);
        expect((await loadOf()).running).toBe(before.running);
      } finally {
        await holder.rollbackTransaction();
        await holder.release();
      }
      expect(await probes.refreshLoad(new Date(clock + 4000))).toBe(true);
      expect((await loadOf()).running).toBe(before.running + 1);
    });
  });
});
