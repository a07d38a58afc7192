import request from 'supertest';
import { DataSource } from 'typeorm';
import { startLoopbackServer, type FakeTesSite, type LoopbackServer } from '@constellation/testing';
import { densityBucket } from '@constellation/scheduler';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { registerFakeTesSite, startDispatchApp, untilFinished } from './support/dispatch-suite';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

const GIB = 2 ** 30;
const MIB = 2 ** 20;

interface LocalityNote {
  site_id: string;
  site: string;
  price_bytes_per_core_s: number;
  task_bytes_per_core_s: number;
  earns: boolean;
}

interface PlacementAnswer {
  placement: { site_id: string; locality_prices?: LocalityNote[] } | null;
}

/**
 * CONSTELLATION_LOCALITY_PRICE on a two-site network: `local` sits beside the data store the tasks read from
 * and has 4 cores, `remote` is in Lisbon with 64. The price comes from the demand recorded in
 * `locality_demand`; the test seeds that demand to set it.
 */
describe('the locality price keeps a small site beside the data for the tasks that save the most bytes there', () => {
  let t: TestApp;
  let db: DataSource;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let store: LoopbackServer;
  let storeId: string;
  let local: { fake: FakeTesSite; id: string; slug: string };
  let remote: { fake: FakeTesSite; id: string; slug: string };

  beforeAll(async () => {
    t = await startDispatchApp({
      CONSTELLATION_LOCALITY_PRICE: 'on',
      CONSTELLATION_SIZE_BUDGET_SECONDS: '5',
    });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    const provider = await createPrincipal(t, 'provider');
    alice = await createPrincipal(t, 'submitter');
    // Sizes by path: /big/... 40 GiB, anything else 1 MiB.
    store = await startLoopbackServer((req, res) => {
      const size = req.url?.startsWith('/big/') ? 40 * GIB : MIB;
      res.writeHead(200, { 'content-length': String(size) }).end();
    });
    const created = await request(t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', admin.bearer)
      .send({
        name: `galaxy-${Math.random().toString(36).slice(2, 8)}`,
        url_prefixes: [`http://127.0.0.1:${store.port}/`],
        country: 'DE',
        latitude: 47.99,
        longitude: 7.84,
      })
      .expect(201);
    storeId = created.body.id as string;
    const capacity = (cores: number) => ({
      max_concurrent_tasks: cores,
      totals: { cores, memory_gib: cores * 4 },
      per_task: { cores: 4, memory_gib: 16 },
    });
    local = await registerFakeTesSite(
      t,
      provider,
      admin,
      { timeScale: 0.01 },
      {
        capacity: capacity(4),
        local_data_store_ids: [storeId],
      },
    );
    remote = await registerFakeTesSite(
      t,
      provider,
      admin,
      { timeScale: 0.01 },
      {
        capacity: capacity(64),
        country: 'PT',
        latitude: 38.72,
        longitude: -9.14,
      },
    );
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([local?.fake.close(), remote?.fake.close(), store?.shut()]);
  });

  // A fresh image per task: no completion teaches a run time another task of the test would then use.
  const image = () => `alpine:${Math.random().toString(36).slice(2, 10)}`;

  async function run(
    path: string,
    cores: number,
  ): Promise<{ id: string; placement: PlacementAnswer['placement'] }> {
    const { body } = await tes(t.url, alice)
      .create({
        executors: [{ image: image(), command: ['echo', 'hi'] }],
        inputs: [{ url: `http://127.0.0.1:${store.port}${path}`, path: '/data/in' }],
        resources: { cpu_cores: cores, ram_gb: 4, zones: [local.slug, remote.slug] },
      })
      .expect(200);
    const id = body.id as string;
    const answer = await waitFor(`task ${id} placed`, async () => {
      const res = await request(t.url)
        .get(`/api/v1/tasks/${id}/placement`)
        .set('Authorization', alice.bearer)
        .expect(200);
      return (res.body as PlacementAnswer).placement?.site_id ? (res.body as PlacementAnswer) : undefined;
    });
    expect((await untilFinished<{ state: string }>(tes(t.url, alice), id)).state).toBe('COMPLETE');
    return { id, placement: answer.placement };
  }

  const demandRows = async (siteId: string) =>
    (await db.query(
      `SELECT density_bucket, core_s, bytes, tasks FROM locality_demand WHERE site_id = $1 ORDER BY density_bucket`,
      [siteId],
    )) as { density_bucket: number; core_s: number; bytes: number; tasks: number }[];

  it('without enough demand there is no price: a light task takes the free local site', async () => {
    const { placement } = await run('/reads-1.fastq', 3);
    expect(placement?.site_id).toBe(local.id);
    expect(placement?.locality_prices).toBeUndefined();
  });

  it('records what each placed task asked of the local site, by density bucket', async () => {
    const rows = await demandRows(local.id);
    // The task above: 1 MiB local, 3 cores (its 4 GB of memory block fewer of the site's 16 GiB) for the
    // default 600 s.
    const coreS = 3 * 600;
    expect(rows).toEqual([
      { density_bucket: densityBucket(MIB / coreS), core_s: coreS, bytes: MIB, tasks: 1 },
    ]);
    // The remote site holds no data store: nothing is recorded for it.
    expect(await demandRows(remote.id)).toEqual([]);
  });

  it('with a price, a light task goes elsewhere and a dense one earns the local site; both explained', async () => {
    // An hour of demand far beyond the site's 4 cores, at 10^6 bytes per core-second: that is the price.
    await db.query(
      `INSERT INTO locality_demand (site_id, minute, density_bucket, core_s, bytes, tasks)
       VALUES ($1, date_trunc('minute', now() - interval '1 hour'), $2, $3, $4, 100)`,
      [local.id, densityBucket(1e6), 4 * 3600 * 10, 1e6 * 4 * 3600 * 10],
    );
    const light = await run('/reads-2.fastq', 3);
    expect(light.placement?.site_id).toBe(remote.id);
    const [lightNote] = light.placement?.locality_prices ?? [];
    expect(lightNote).toMatchObject({ site_id: local.id, site: local.slug, earns: false });
    expect(lightNote.price_bytes_per_core_s).toBeGreaterThan(0.75e6);
    expect(lightNote.price_bytes_per_core_s).toBeLessThanOrEqual(1e6);
    expect(lightNote.task_bytes_per_core_s).toBe(Math.round(MIB / (3 * 600)));

    const dense = await run('/big/reads.bam', 3);
    expect(dense.placement?.site_id).toBe(local.id);
    expect(dense.placement?.locality_prices?.[0]).toMatchObject({ site_id: local.id, earns: true });
    expect(dense.placement?.locality_prices?.[0].task_bytes_per_core_s).toBe(
      Math.round((40 * GIB) / (3 * 600)),
    );
  });

  it('forgets demand older than the window', async () => {
    await db.query(
      `INSERT INTO locality_demand (site_id, minute, density_bucket, core_s, bytes, tasks)
       VALUES ($1, date_trunc('minute', now() - interval '5 hours'), 0, 1, 1, 1)`,
      [local.id],
    );
    await run('/reads-3.fastq', 1);
    const old = await db.query(
      `SELECT count(*)::int AS n FROM locality_demand WHERE minute < now() - interval '3 hours 1 minute'`,
    );
    expect(old[0].n).toBe(0);
  });
});
