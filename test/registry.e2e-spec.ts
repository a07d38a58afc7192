import request from 'supertest';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

describe('registry: sites, data stores, principals and tokens', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal; // provider
  let bob: TestPrincipal; // another provider
  let sub: TestPrincipal; // submitter

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'provider');
    bob = await createPrincipal(t, 'provider');
    sub = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
  });

  const api = () => request(t.url);

  describe('site life cycle', () => {
    let siteId: string;
    const slug = `freiburg-${Date.now()}`;

    it('lets a provider register a site, pending, without ever returning its credentials', async () => {
      const document = siteDocument({ slug });
      const res = await api()
        .post('/api/v1/sites')
        .set('Authorization', alice.bearer)
        .send(document)
        .expect(201);
      siteId = res.body.id;
      // Every field of the document comes back as sent, but the credentials.
      const { credentials: _credentials, ...echoed } = document;
      expect(res.body).toMatchObject({
        ...echoed,
        pulsar_manager: null,
        has_credentials: true,
        admin_state: 'pending',
        health: 'unknown',
        local_data_store_ids: [],
        owner_id: alice.id,
        probe: { consecutive_failures: 0, last_ok_at: null, latency_ms: null },
        load: { running: 0, queued: 0, estimated_wait_seconds: null },
        speed_factor: 1,
      });
      expect(res.body).not.toHaveProperty('credentials');
      expect(JSON.stringify(res.body)).not.toContain('pulsar-private-token-abc123');
    });

    it('applies the documented defaults', async () => {
      const res = await api()
        .post('/api/v1/sites')
        .set('Authorization', alice.bearer)
        .send({ slug: `amqp-${Date.now()}`, display_name: 'AMQP', country: 'ES', kind: 'pulsar-amqp' })
        .expect(201);
      expect(res.body).toMatchObject({
        url: null,
        pulsar_manager: 'constellation',
        has_credentials: false,
        latitude: null,
        longitude: null,
        capacity: {
          max_concurrent_tasks: 10,
          totals: { cores: null, memory_gib: null, gpus: null, gpu_type: null, disk_gib: null },
          per_task: { cores: null, memory_gib: null, gpus: null, disk_gib: null },
        },
        runtimes: ['docker'],
        run_images_on_host: false,
        image_cache_dir: null,
        cvmfs_image_root: null,
        tags: {},
      });
    });

    it('keeps the image settings, and refuses a PATCH that would leave them without their runtime', async () => {
      const created = await api()
        .post('/api/v1/sites')
        .set('Authorization', alice.bearer)
        .send(
          siteDocument({
            runtimes: ['apptainer', 'none'],
            run_images_on_host: true,
            image_cache_dir: '/srv/apptainer/cache',
            cvmfs_image_root: '/cvmfs/singularity.galaxyproject.org/all',
          }),
        )
        .expect(201);
      expect(created.body).toMatchObject({
        runtimes: ['apptainer', 'none'],
        run_images_on_host: true,
        image_cache_dir: '/srv/apptainer/cache',
        cvmfs_image_root: '/cvmfs/singularity.galaxyproject.org/all',
      });
      const refused = await api()
        .patch(`/api/v1/sites/${created.body.id}`)
        .set('Authorization', alice.bearer)
        .send({ runtimes: ['docker'] })
        .expect(400);
      expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual([
        'run_images_on_host',
        'image_cache_dir',
        'cvmfs_image_root',
      ]);
      const cleared = await api()
        .patch(`/api/v1/sites/${created.body.id}`)
        .set('Authorization', alice.bearer)
        .send({
          runtimes: ['docker'],
          run_images_on_host: false,
          image_cache_dir: null,
          cvmfs_image_root: null,
        })
        .expect(200);
      expect(cleared.body).toMatchObject({
        runtimes: ['docker'],
        run_images_on_host: false,
        image_cache_dir: null,
        cvmfs_image_root: null,
      });
    });

    it('shows another provider the site but not its credentials, and refuses its edits and actions', async () => {
      const seen = await api().get(`/api/v1/sites/${siteId}`).set('Authorization', bob.bearer).expect(200);
      expect(seen.body.has_credentials).toBe(true);
      expect(seen.body).not.toHaveProperty('credentials');
      expect(JSON.stringify(seen.body)).not.toContain('pulsar-private-token-abc123');

      const edit = await api()
        .patch(`/api/v1/sites/${siteId}`)
        .set('Authorization', bob.bearer)
        .send({ display_name: 'hijacked' })
        .expect(403);
      expect(edit.body).toMatchObject({
        code: 'FORBIDDEN',
        message: `only the owner of site ${slug} or an admin may edit it`,
      });
      await api().post(`/api/v1/sites/${siteId}/disable`).set('Authorization', bob.bearer).expect(403);
      await api().post(`/api/v1/sites/${siteId}/approve`).set('Authorization', alice.bearer).expect(403);
      await api().post('/api/v1/sites').set('Authorization', sub.bearer).send(siteDocument()).expect(403);
    });

    it('lets the owner edit its site, keeping absent fields and replacing credentials', async () => {
      const res = await api()
        .patch(`/api/v1/sites/${slug}`)
        .set('Authorization', alice.bearer)
        .send({ display_name: 'Freiburg Pulsar', credentials: { token: 'rotated-pulsar-token-xyz' } })
        .expect(200);
      expect(res.body).toMatchObject({
        display_name: 'Freiburg Pulsar',
        country: 'DE',
        has_credentials: true,
        capacity: { max_concurrent_tasks: 20 },
      });
      const cleared = await api()
        .patch(`/api/v1/sites/${slug}`)
        .set('Authorization', alice.bearer)
        .send({ credentials: null })
        .expect(200);
      expect(cleared.body.has_credentials).toBe(false);
    });

    it('rejects a duplicate slug with 409', async () => {
      const res = await api()
        .post('/api/v1/sites')
        .set('Authorization', bob.bearer)
        .send(siteDocument({ slug }))
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'CONFLICT',
        message: `a site with slug ${slug} already exists`,
        errors: [{ path: 'slug', reason: 'is already taken' }],
      });
    });

    it('goes pending -> active -> draining -> active -> disabled -> active, with events', async () => {
      const step = async (who: TestPrincipal, action: string, want: number, state?: string) => {
        const res = await api()
          .post(`/api/v1/sites/${siteId}/${action}`)
          .set('Authorization', who.bearer)
          .send({ reason: `test ${action}` })
          .expect(want);
        if (state) expect(res.body.admin_state).toBe(state);
        return res;
      };
      const early = await step(alice, 'drain', 409);
      expect(early.body).toMatchObject({
        code: 'INVALID_STATE_TRANSITION',
        message: `cannot drain site ${slug}: it is pending`,
      });
      await step(admin, 'approve', 200, 'active');
      await step(admin, 'approve', 200, 'active'); // repeating is a no-op
      await step(alice, 'drain', 200, 'draining');
      await step(admin, 'resume', 200, 'active');
      await step(alice, 'disable', 200, 'disabled');
      const denied = await step(alice, 'resume', 403);
      expect(denied.body.message).toBe(`only an admin may resume site ${slug} while it is disabled`);
      await step(admin, 'resume', 200, 'active');

      const events = await api()
        .get(`/api/v1/sites/${siteId}/events`)
        .set('Authorization', alice.bearer)
        .expect(200);
      expect(
        events.body.events.map((e: { kind: string; from: string; to: string }) => [e.kind, e.from, e.to]),
      ).toEqual([
        ['registered', null, 'pending'],
        ['updated', null, null],
        ['updated', null, null],
        ['admin_state', 'pending', 'active'],
        ['admin_state', 'active', 'draining'],
        ['admin_state', 'draining', 'active'],
        ['admin_state', 'active', 'disabled'],
        ['admin_state', 'disabled', 'active'],
      ]);
      expect(events.body.events[3]).toMatchObject({
        actor_id: admin.id,
        reason: `approve by ${admin.name}: test approve`,
      });
      expect(events.body.events[1].reason).toBe(`${alice.name} changed credentials, display_name`);
      expect(events.body.next_page_token).toBeNull();
      // Health is the probes' business: admin actions never touch it.
      const site = await api().get(`/api/v1/sites/${siteId}`).set('Authorization', sub.bearer).expect(200);
      expect(site.body.health).toBe('unknown');
    });

    it('answers 404 for an unknown site', async () => {
      const res = await api().get('/api/v1/sites/no-such-site').set('Authorization', sub.bearer).expect(404);
      expect(res.body).toMatchObject({ code: 'SITE_NOT_FOUND', message: 'no site no-such-site' });
    });
  });

  describe('listing', () => {
    let owner: TestPrincipal;
    const ids: string[] = [];

    beforeAll(async () => {
      owner = await createPrincipal(t, 'provider');
      for (const [i, country, kind, url] of [
        [0, 'FR', 'tes', 'https://tes.example.fr/ga4gh/tes'],
        [1, 'FR', 'pulsar-rest', 'https://pulsar.example.fr/'],
        [2, 'IT', 'pulsar-amqp', 'amqps://mq.example.it/pulsar'],
      ] as const) {
        const res = await api()
          .post('/api/v1/sites')
          .set('Authorization', owner.bearer)
          .send(siteDocument({ slug: `list-${i}-${Date.now()}`, country, kind, url }))
          .expect(201);
        ids.push(res.body.id);
      }
      await api().post(`/api/v1/sites/${ids[1]}/approve`).set('Authorization', admin.bearer).expect(200);
    });

    it('filters by owner, country, kind and admin state', async () => {
      const q = async (query: string) =>
        (
          await api().get(`/api/v1/sites?${query}`).set('Authorization', sub.bearer).expect(200)
        ).body.sites.map((s: { id: string }) => s.id);
      expect(await q(`owner=${owner.id}`)).toEqual(ids);
      expect(await q(`owner=${owner.id}&country=FR`)).toEqual([ids[0], ids[1]]);
      expect(await q(`owner=${owner.id}&kind=pulsar-amqp`)).toEqual([ids[2]]);
      expect(await q(`owner=${owner.id}&admin_state=active`)).toEqual([ids[1]]);
      expect(await q(`owner=${owner.id}&health=unknown&admin_state=pending`)).toEqual([ids[0], ids[2]]);
    });

    it('pages with page_size and page_token', async () => {
      const first = await api()
        .get(`/api/v1/sites?owner=${owner.id}&page_size=2`)
        .set('Authorization', sub.bearer)
        .expect(200);
      expect(first.body.sites.map((s: { id: string }) => s.id)).toEqual([ids[0], ids[1]]);
      expect(typeof first.body.next_page_token).toBe('string');
      const second = await api()
        .get(`/api/v1/sites?owner=${owner.id}&page_size=2&page_token=${first.body.next_page_token}`)
        .set('Authorization', sub.bearer)
        .expect(200);
      expect(second.body.sites.map((s: { id: string }) => s.id)).toEqual([ids[2]]);
      expect(second.body.next_page_token).toBeNull();
    });
  });

  describe('data stores', () => {
    it('are admin-managed, validated, and removed from sites when deleted', async () => {
      const doc = {
        name: `galaxy-eu-${Date.now()}`,
        url_prefixes: ['https://usegalaxy.eu/api/jobs/'],
        country: 'DE',
      };
      await api().post('/api/v1/data-stores').set('Authorization', alice.bearer).send(doc).expect(403);
      const created = await api()
        .post('/api/v1/data-stores')
        .set('Authorization', admin.bearer)
        .send(doc)
        .expect(201);
      expect(created.body).toMatchObject({ ...doc, latitude: null, longitude: null });
      const storeId = created.body.id;
      const dup = await api()
        .post('/api/v1/data-stores')
        .set('Authorization', admin.bearer)
        .send(doc)
        .expect(409);
      expect(dup.body.errors).toEqual([{ path: 'name', reason: 'is already taken' }]);

      const patched = await api()
        .patch(`/api/v1/data-stores/${storeId}`)
        .set('Authorization', admin.bearer)
        .send({
          latitude: 48.0,
          longitude: 7.85,
          url_prefixes: ['https://usegalaxy.eu/api/jobs/', 's3://galaxy-eu/'],
        })
        .expect(200);
      expect(patched.body).toMatchObject({
        name: doc.name,
        latitude: 48.0,
        longitude: 7.85,
        url_prefixes: ['https://usegalaxy.eu/api/jobs/', 's3://galaxy-eu/'],
      });
      const listed = await api()
        .get('/api/v1/data-stores?country=DE')
        .set('Authorization', sub.bearer)
        .expect(200);
      expect(listed.body.data_stores.map((d: { id: string }) => d.id)).toContain(storeId);

      const unknown = '01935d1c-0000-7000-8000-00000000beef';
      const bad = await api()
        .post('/api/v1/sites')
        .set('Authorization', alice.bearer)
        .send(siteDocument({ local_data_store_ids: [storeId, unknown] }))
        .expect(400);
      expect(bad.body.errors).toEqual([
        { path: 'local_data_store_ids[1]', reason: 'is not a registered data store' },
      ]);
      const site = await api()
        .post('/api/v1/sites')
        .set('Authorization', alice.bearer)
        .send(siteDocument({ local_data_store_ids: [storeId] }))
        .expect(201);
      expect(site.body.local_data_store_ids).toEqual([storeId]);

      await api().delete(`/api/v1/data-stores/${storeId}`).set('Authorization', admin.bearer).expect(204);
      await api().delete(`/api/v1/data-stores/${storeId}`).set('Authorization', admin.bearer).expect(404);
      const after = await api()
        .get(`/api/v1/sites/${site.body.id}`)
        .set('Authorization', alice.bearer)
        .expect(200);
      expect(after.body.local_data_store_ids).toEqual([]);
    });
  });

  describe('authentication', () => {
    it('accepts Bearer and Basic <name>:<token>, and answers 401 with WWW-Authenticate otherwise', async () => {
      await api().get('/api/v1/sites').set('Authorization', alice.bearer).expect(200);
      await api().get('/api/v1/sites').set('Authorization', alice.basic).expect(200);
      const wrongName = `Basic ${Buffer.from(`${bob.name}:${alice.token}`).toString('base64')}`;
      await api().get('/api/v1/sites').set('Authorization', wrongName).expect(401);
      const none = await api().get('/api/v1/sites').expect(401);
      expect(none.headers['www-authenticate']).toMatch(
        /^Bearer realm="constellation", Basic realm="constellation"/,
      );
      expect(none.body.code).toBe('UNAUTHENTICATED');
      await api()
        .get('/api/v1/sites')
        .set('Authorization', 'Bearer not-a-real-token-but-long-enough-000000')
        .expect(401);
    });

    it('lets an admin create principals (token shown once) and revoke tokens (then 401)', async () => {
      const name = `galaxy-${Date.now()}`;
      const created = await api()
        .post('/api/v1/principals')
        .set('Authorization', admin.bearer)
        .send({ name, role: 'submitter', max_running_tasks: 500, share_weight: 2 })
        .expect(201);
      expect(created.body.principal).toMatchObject({
        name,
        role: 'submitter',
        allowed_site_ids: [],
        max_running_tasks: 500,
        share_weight: 2,
      });
      const token: string = created.body.token.token;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await api().get('/api/v1/principals/me').set('Authorization', `Bearer ${token}`).expect(200);

      const listed = await api()
        .get(`/api/v1/principals/${name}/tokens`)
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(listed.body.tokens).toHaveLength(1);
      expect(JSON.stringify(listed.body)).not.toContain(token);
      expect(listed.body.tokens[0]).toMatchObject({ description: 'issued at creation', revoked_at: null });
      expect(typeof listed.body.tokens[0].last_used_at).toBe('string');

      await api().get('/api/v1/principals').set('Authorization', alice.bearer).expect(403);
      await api()
        .post(`/api/v1/tokens/${created.body.token.id}/revoke`)
        .set('Authorization', admin.bearer)
        .expect(204);
      const revoked = await api().get('/api/v1/sites').set('Authorization', `Bearer ${token}`).expect(401);
      expect(revoked.body).toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid or revoked token' });
    });

    it('lets a provider rotate its own token: the old one stops working, the new one works', async () => {
      const p = await createPrincipal(t, 'provider');
      const rotated = await api()
        .post('/api/v1/tokens/rotate')
        .set('Authorization', p.basic)
        .send({ description: 'rotated in test' })
        .expect(201);
      expect(rotated.body).toMatchObject({
        principal_id: p.id,
        description: 'rotated in test',
        revoked_at: null,
      });
      expect(rotated.body.token).not.toBe(p.token);
      await api().get('/api/v1/sites').set('Authorization', p.bearer).expect(401);
      await api().get('/api/v1/sites').set('Authorization', `Bearer ${rotated.body.token}`).expect(200);
    });

    it('validates principal documents and refuses to change a name', async () => {
      const bad = await api()
        .post('/api/v1/principals')
        .set('Authorization', admin.bearer)
        .send({ name: 'has:colon', role: 'root', share_weight: 0, extra: 1 })
        .expect(400);
      expect(bad.body.errors).toEqual([
        { path: 'extra', reason: 'is not a known field' },
        {
          path: 'name',
          reason: 'must be 1 to 64 letters, digits, . _ or -, starting with a letter or digit',
        },
        { path: 'role', reason: 'must be one of admin, provider, submitter' },
        { path: 'share_weight', reason: 'must be a number greater than 0 and at most 1000000' },
      ]);
      const rename = await api()
        .patch(`/api/v1/principals/${sub.id}`)
        .set('Authorization', admin.bearer)
        .send({ name: 'renamed', max_running_tasks: 3 })
        .expect(400);
      expect(rename.body.errors).toEqual([
        {
          path: 'name',
          reason: 'cannot be changed (clients carry it in their URLs); create a new principal instead',
        },
      ]);
      const ok = await api()
        .patch(`/api/v1/principals/${sub.id}`)
        .set('Authorization', admin.bearer)
        .send({ max_running_tasks: 3 })
        .expect(200);
      expect(ok.body).toMatchObject({ name: sub.name, role: 'submitter', max_running_tasks: 3 });
    });

    it('refuses to delete a principal that owns sites', async () => {
      const res = await api()
        .delete(`/api/v1/principals/${alice.id}`)
        .set('Authorization', admin.bearer)
        .expect(409);
      expect(res.body.code).toBe('CONFLICT');
    });
  });

  it('documents the registry routes in the OpenAPI', async () => {
    const doc = await api().get('/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/sites',
        '/api/v1/sites/{ref}',
        '/api/v1/sites/{ref}/approve',
        '/api/v1/sites/{ref}/drain',
        '/api/v1/sites/{ref}/resume',
        '/api/v1/sites/{ref}/disable',
        '/api/v1/sites/{ref}/events',
        '/api/v1/data-stores',
        '/api/v1/data-stores/{id}',
        '/api/v1/principals',
        '/api/v1/principals/{ref}/tokens',
        '/api/v1/tokens/rotate',
      ]),
    );
    expect(doc.body.components.schemas.SiteDocumentDto.properties.kind.enum).toEqual([
      'tes',
      'pulsar-rest',
      'pulsar-amqp',
    ]);
  });

  describe('edits under the row lock', () => {
    const register = async (overrides: Record<string, unknown> = {}) =>
      (
        await api()
          .post('/api/v1/sites')
          .set('Authorization', alice.bearer)
          .send(siteDocument(overrides))
          .expect(201)
      ).body.id as string;
    const act = (id: string, action: string, who = admin) =>
      api().post(`/api/v1/sites/${id}/${action}`).set('Authorization', who.bearer).send({}).expect(200);
    const edit = (id: string, body: Record<string, unknown>, who = alice) =>
      api().patch(`/api/v1/sites/${id}`).set('Authorization', who.bearer).send(body);
    const events = async (id: string) =>
      (await api().get(`/api/v1/sites/${id}/events`).set('Authorization', admin.bearer).expect(200)).body
        .events as { kind: string; from: string | null; to: string | null; reason: string }[];

    it.each([
      ['active', { url: 'https://elsewhere.example.org/' }, 'url'],
      ['draining', { kind: 'tes' }, 'kind'],
    ])('sends an %s site whose owner changes its %j back to pending', async (state, body, field) => {
      const id = await register();
      await act(id, 'approve');
      if (state === 'draining') await act(id, 'drain', alice);
      const res = await edit(id, body).expect(200);
      expect(res.body.admin_state).toBe('pending');
      const last = (await events(id)).find((e) => e.kind === 'admin_state' && e.to === 'pending');
      expect(last).toMatchObject({ kind: 'admin_state', from: state, to: 'pending' });
      expect(last?.reason).toContain(`changed ${field}`);
      expect(last?.reason).toContain('approval again');
    });

    it('keeps the state when the owner edits other fields, or an admin changes the url', async () => {
      const id = await register();
      await act(id, 'approve');
      expect((await edit(id, { tags: { x: '1' } }).expect(200)).body.admin_state).toBe('active');
      expect((await edit(id, { url: 'https://pulsar.example.org/' }).expect(200)).body.admin_state).toBe(
        'active',
      );
      const byAdmin = await edit(id, { url: 'https://moved.example.org/' }, admin).expect(200);
      expect(byAdmin.body).toMatchObject({ admin_state: 'active', url: 'https://moved.example.org/' });
    });

    it('keeps both of two concurrent edits of different fields', async () => {
      for (let i = 0; i < 5; i++) {
        const id = await register();
        const [a, b] = await Promise.all([
          edit(id, { tags: { round: String(i) } }),
          edit(id, { capacity: { max_concurrent_tasks: 7 + i } }),
        ]);
        expect([a.status, b.status]).toEqual([200, 200]);
        const s = (await api().get(`/api/v1/sites/${id}`).set('Authorization', admin.bearer).expect(200))
          .body;
        expect(s.tags).toEqual({ round: String(i) });
        expect(s.capacity.max_concurrent_tasks).toBe(7 + i);
      }
    });
  });
});
