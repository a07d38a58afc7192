import request from 'supertest';
import { DataSource } from 'typeorm';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

describe('public network summary (GET /api/v1/network)', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let submitter: TestPrincipal;
  const tag = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
    submitter = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
  });

  const api = () => request(t.url);
  const register = async (slug: string, extra: Record<string, unknown> = {}) =>
    (
      await api()
        .post('/api/v1/sites')
        .set('Authorization', provider.bearer)
        .send(siteDocument({ slug, ...extra }))
        .expect(201)
    ).body as { id: string };

  it('shows approved sites to anyone, without a token, and leaves pending ones and private fields out', async () => {
    const approved = await register(`net-ok-${tag}`, { display_name: 'Approved (Freiburg)' });
    await register(`net-pending-${tag}`);
    await api().post(`/api/v1/sites/${approved.id}/approve`).set('Authorization', admin.bearer).expect(200);

    const res = await api().get('/api/v1/network').expect(200);
    const mine = (res.body.sites as { slug: string }[]).filter((s) => s.slug.endsWith(tag));
    expect(mine).toEqual([
      {
        id: approved.id,
        slug: `net-ok-${tag}`,
        display_name: 'Approved (Freiburg)',
        country: 'DE',
        latitude: 47.99,
        longitude: 7.84,
        admin_state: 'active',
        health: 'unknown',
        max_concurrent_tasks: 20,
        cores: 256,
        running: 0,
        queued: 0,
      },
    ]);
    expect(res.body.links_window_hours).toBe(24);
    expect(Number.isNaN(Date.parse(res.body.generated_at))).toBe(false);
  });

  it('lists data stores and links a store to the site that took a task reading from it', async () => {
    const site = await register(`net-link-${tag}`);
    await api().post(`/api/v1/sites/${site.id}/approve`).set('Authorization', admin.bearer).expect(200);
    const store = (
      await api()
        .post('/api/v1/data-stores')
        .set('Authorization', admin.bearer)
        // A "_" in a prefix is no LIKE wildcard: the task below reads from a URL with "x" in its place.
        .send({ name: `store-${tag}`, url_prefixes: [`https://data-${tag}.example.org/a_b/`], country: 'IT' })
        .expect(201)
    ).body as { id: string };
    const taskFor = async (url: string) =>
      (
        await api()
          .post('/ga4gh/tes/v1/tasks')
          .set('Authorization', submitter.bearer)
          .send({
            inputs: [{ url, path: '/data/in' }],
            executors: [{ image: 'alpine', command: ['true'] }],
          })
          .expect(200)
      ).body.id as string;
    const reads = await taskFor(`https://data-${tag}.example.org/a_b/file.txt`);
    const lookalike = await taskFor(`https://data-${tag}.example.org/axb/file.txt`);
    // Placement is off in this suite: put both tasks at the site as the dispatcher would.
    await t.app
      .get(DataSource)
      .query('UPDATE task SET site_id = $1 WHERE id = ANY($2)', [site.id, [reads, lookalike]]);

    const res = await api().get('/api/v1/network').expect(200);
    expect(res.body.data_stores).toContainEqual({
      id: store.id,
      name: `store-${tag}`,
      country: 'IT',
      latitude: null,
      longitude: null,
    });
    expect(res.body.links.filter((l: { site_id: string }) => l.site_id === site.id)).toEqual([
      { data_store_id: store.id, site_id: site.id, tasks: 1 },
    ]);
  });

  it('is in the OpenAPI document as a public operation', async () => {
    const doc = (await api().get('/openapi.json').expect(200)).body;
    const op = doc.paths['/api/v1/network'].get;
    expect(op.security ?? []).toEqual([]);
    expect(op.responses['200'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/NetworkSummaryView',
    );
  });
});
