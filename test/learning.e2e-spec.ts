import request from 'supertest';
import { startFakeTesSite, FakeTesSite } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tesSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { startDispatchSuite, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';

jest.setTimeout(90_000);

interface Candidate {
  siteId: string;
  slug: string;
  runS: number;
  sources?: { runS: string; queueWaitS: string; transferS: string };
}

interface PlacementAnswer {
  placement: { site_id: string; expected_run_s?: number; candidates: Candidate[] } | null;
  preview?: { candidates: (Candidate & { queueWaitS: number })[] };
}

describe('placement learns run times from finished attempts', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let alice: TestPrincipal;
  const fakes: FakeTesSite[] = [];
  // A tag of its own, so completions of other suites in this database teach nothing about this tool.
  const image = `quay.io/biocontainers/bwa-mem2:2.2.1--${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    ({ t, admin, provider, alice } = await startDispatchSuite());
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function site(place: Record<string, unknown> = {}): Promise<{ id: string; slug: string }> {
    const token = `site-token-${Math.random().toString(36).slice(2)}`;
    // `sleep N` takes N x 50 ms at these sites.
    const fake = await startFakeTesSite({ requireToken: token, timeScale: 0.05 });
    fakes.push(fake);
    return registerSiteUp(
      t,
      provider,
      admin,
      tesSiteDocument(fake.url, token, {
        capacity: { max_concurrent_tasks: 20, per_task: { cores: 4, memory_gib: 16 } },
        ...place,
      }),
    );
  }

  const bwa = (seconds: number, zones: string[]) => ({
    name: 'bwa',
    executors: [{ image, command: ['sleep', String(seconds)] }],
    resources: { cpu_cores: 1, zones },
  });

  async function run(seconds: number, zones: string[]): Promise<string> {
    const { body } = await tes(t.url, alice).create(bwa(seconds, zones)).expect(200);
    const id = (body as { id: string }).id;
    const done = await untilFinished<{ state: string }>(tes(t.url, alice), id);
    expect(done.state).toBe('COMPLETE');
    return id;
  }

  const placement = async (id: string) =>
    (await request(t.url).get(`/api/v1/tasks/${id}/placement`).set('Authorization', alice.bearer).expect(200))
      .body as PlacementAnswer;

  it('a few completions of one tool on two sites move its next task to the faster one, and say why', async () => {
    const [x, y] = [await site(), await site()];
    const zones = [x.slug, y.slug];
    // With no history both sites are equal for the tool: the tie goes to the lower site id.
    const [first, second] = x.id < y.id ? [x, y] : [y, x];
    const before = await placement(await run(1, zones));
    expect(before.placement?.site_id).toBe(first.id);
    // Other suites' sites in the shared database are candidates too, but not feasible (zones): only these two.
    const ours = (before.placement?.candidates ?? []).filter((c) => zones.includes(c.slug));
    expect(ours).toHaveLength(2);
    for (const c of ours) {
      expect(c.runS).toBe(600);
      expect(c.sources?.runS).toBe(
        'default 600 s: no history of sleep (bwa-mem2 2.2.1); site speed 1: no history',
      );
    }

    // The tool turns out slow where it went (20 s of sleep = 1 s) and quick at the other site (50 ms).
    await Promise.all([
      ...Array.from({ length: 5 }, () => run(20, [first.slug])),
      ...Array.from({ length: 5 }, () => run(1, [second.slug])),
    ]);

    const after = await placement(await run(1, zones));
    expect(after.placement?.site_id).toBe(second.id);
    const by = new Map(after.placement?.candidates.map((c) => [c.siteId, c]));
    expect(by.get(first.id)?.sources?.runS).toBe(
      'learned from 6 runs of sleep (bwa-mem2 2.2.1) at this site',
    );
    expect(by.get(second.id)?.sources?.runS).toBe(
      'learned from 5 runs of sleep (bwa-mem2 2.2.1) at this site',
    );
    expect(by.get(first.id)!.runS).toBeGreaterThan(2 * by.get(second.id)!.runS);
    expect(by.get(second.id)!.runS).toBeLessThan(60);

    // What was learned is listed for admins; the learning survives in PostgreSQL.
    const { body } = await request(t.url)
      .get('/api/v1/estimates')
      .set('Authorization', admin.bearer)
      .expect(200);
    const tool = (
      body as { tools: { fingerprint: string; label: string; runs: number; sites: unknown[] }[] }
    ).tools.find((e) => e.fingerprint === `${image} sleep`);
    expect(tool).toMatchObject({ label: 'sleep (bwa-mem2 2.2.1)' });
    expect(tool!.runs).toBeCloseTo(12, 0);
    expect(tool!.sites).toHaveLength(2);
    const sites = (body as { sites: { site_id: string; speed_factor: number; median_run_s?: number }[] })
      .sites;
    const slow = sites.find((s) => s.site_id === first.id)!;
    const fast = sites.find((s) => s.site_id === second.id)!;
    expect(slow.median_run_s).toBeGreaterThan(fast.median_run_s!);
    expect(slow.speed_factor).toBeLessThan(fast.speed_factor);
  });

  it('GET /api/v1/estimates is for admins and rejects unknown or bad parameters', async () => {
    await request(t.url).get('/api/v1/estimates').set('Authorization', alice.bearer).expect(403);
    await request(t.url).get('/api/v1/estimates').expect(401);
    const bad = await request(t.url)
      .get('/api/v1/estimates?limit=0&view=all')
      .set('Authorization', admin.bearer)
      .expect(400);
    expect(bad.body.errors).toEqual([
      { path: 'view', reason: 'is not a parameter of this operation (only limit)' },
      { path: 'limit', reason: 'must be an integer from 1 to 1000' },
    ]);
    const one = await request(t.url)
      .get('/api/v1/estimates?limit=1')
      .set('Authorization', admin.bearer)
      .expect(200);
    expect(one.body.tools.length).toBeLessThanOrEqual(1);
  });

  it("a submitter's home data store stands in for inputs placement cannot see", async () => {
    const store = await request(t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', admin.bearer)
      .send({
        name: `home-${Math.random().toString(36).slice(2, 8)}`,
        url_prefixes: [`https://galaxy-${Math.random().toString(36).slice(2, 8)}.example.org/`],
        country: 'DE',
        latitude: 47.99,
        longitude: 7.84,
      })
      .expect(201);
    const bob = await createPrincipal(t, 'submitter');
    const patch = (body: Record<string, unknown>) =>
      request(t.url).patch(`/api/v1/principals/${bob.name}`).set('Authorization', admin.bearer).send(body);
    expect((await patch({ home_data_store_id: 'not-a-uuid' }).expect(400)).body.errors).toEqual([
      { path: 'home_data_store_id', reason: 'must be a data store id (UUID)' },
    ]);
    expect(
      (await patch({ home_data_store_id: '00000000-0000-4000-8000-000000000000' }).expect(400)).body.errors,
    ).toEqual([{ path: 'home_data_store_id', reason: 'names no registered data store' }]);
    const set = await patch({ home_data_store_id: store.body.id }).expect(200);
    expect(set.body.home_data_store_id).toBe(store.body.id);

    // A task with no inputs, from a submitter whose data lives in Freiburg: the site far away pays a transfer.
    const near = await site();
    const far = await site({ latitude: 38.72, longitude: -9.14, country: 'PT' });
    const { body } = await tes(t.url, bob)
      .create({
        executors: [{ image: 'alpine', command: ['echo', 'hi'] }],
        resources: { zones: [near.slug, far.slug] },
      })
      .expect(200);
    const done = await untilFinished<{ state: string }>(tes(t.url, bob), (body as { id: string }).id);
    expect(done.state).toBe('COMPLETE');
    const answer = (
      await request(t.url)
        .get(`/api/v1/tasks/${(body as { id: string }).id}/placement`)
        .set('Authorization', bob.bearer)
        .expect(200)
    ).body as PlacementAnswer;
    expect(answer.placement?.site_id).toBe(near.id);
    const farCandidate = answer.placement?.candidates.find((c) => c.siteId === far.id);
    expect(farCandidate?.sources?.transferS).toMatch(/^1 input\(s\) \(fetched by the task's own staging/);
    await patch({ home_data_store_id: null }).expect(200);
  });
  it("a running task holding a site's memory keeps the next large task's wait there until its expected end", async () => {
    // 16 GiB at the site; the first task holds 14 of them, the second asks 7.5: it must wait for the first.
    const x = await site({
      capacity: {
        max_concurrent_tasks: 20,
        totals: { cores: 4, memory_gib: 16 },
        per_task: { cores: 4, memory_gib: 16 },
      },
    });
    // A tool with no history, so the broker expects the default 600 s of it.
    const fresh = `quay.io/biocontainers/hog:1.0--${Math.random().toString(36).slice(2, 10)}`;
    const task = (ramGb: number) => ({
      name: 'hog',
      executors: [{ image: fresh, command: ['sleep', '2000'] }],
      resources: { cpu_cores: 1, ram_gb: ramGb, zones: [x.slug] },
    });
    const client = tes(t.url, alice);
    const hog = ((await client.create(task(15)).expect(200)).body as { id: string }).id;
    await untilState(client, hog, 'RUNNING');
    // The run time placement expected is stored with the decision: later rounds read it from there.
    expect((await placement(hog)).placement?.expected_run_s).toBe(600);
    const next = ((await client.create(task(8)).expect(200)).body as { id: string }).id;
    const answer = await placement(next);
    const there = answer.preview?.candidates.find((c) => c.siteId === x.id);
    // Without the running task's end the 1.4 GiB short would drain at the default throughput (4 cores per
    // 600 s) in about 200 s; the first task is expected to run the default 600 s and has only just started.
    expect(there?.queueWaitS).toBeGreaterThan(500);
    expect(there?.queueWaitS).toBeLessThanOrEqual(600);
    // The explanation says the wait came from that end, not from the throughput.
    expect(there?.sources?.queueWaitS).toMatch(
      /^floored on the expected ends of 1 of the 1 task\(s\) running here \(.*default throughput/,
    );
    await client.cancel(next).expect(200);
    await client.cancel(hog).expect(200);
  });
});
