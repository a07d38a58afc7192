import request from 'supertest';
import { SimSiteServer } from '../apps/sim-site/src';
import { startDispatchApp, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';

jest.setTimeout(90_000);

interface FullTask {
  state: string;
  logs: { metadata: { site: string }; system_logs: string[] }[];
}

/**
 * The broker with simulated sites in place of the fake TES site: each fault of the sim-site server, struck
 * while the broker's tasks run there, must end with the tasks complete on another site.
 */
describe('dispatch to simulated sites that fail', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let sim: SimSiteServer | undefined;

  beforeAll(async () => {
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0.1', CONSTELLATION_TRACK_SECONDS: '0.2' });
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
  });
  afterEach(() => sim?.close());
  afterAll(() => t?.close());

  const action = (id: string, what: string) =>
    request(t.url).post(`/api/v1/sites/${id}/${what}`).set('Authorization', admin.bearer).expect(200);

  it.each(['die', 'lose', 'preempt'] as const)('%s: the tasks complete on the other site', async (mode) => {
    const slowSlug = `sim-slow-${mode}-${Date.now()}`;
    const fastSlug = `sim-fast-${mode}-${Date.now()}`;
    // The slow site would take a week over each task: only the fault can make them complete in time.
    sim = await SimSiteServer.start({
      sites: [
        { slug: slowSlug, cores: 8, memoryGib: 32, speed: 0.0001, stagingSeconds: 0 },
        { slug: fastSlug, cores: 8, memoryGib: 32, speed: 1000, stagingSeconds: 0 },
      ],
    });
    const register = (slug: string) =>
      registerSiteUp(
        t,
        provider,
        admin,
        siteDocument({
          slug,
          kind: 'tes',
          url: sim?.url(slug),
          pulsar_manager: null,
          credentials: null,
          capacity: { max_concurrent_tasks: 8, per_task: { cores: 8, memory_gib: 32 } },
        }),
      );
    const slow = await register(slowSlug);
    const fast = await register(fastSlug);
    await action(fast.id, 'drain');
    const galaxy = await createPrincipal(t, 'submitter', { allowedSiteIds: [slow.id, fast.id] });
    const client = tes(t.url, galaxy);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await client
        .create({
          executors: [{ image: 'quay.io/biocontainers/fastqc:0.12.1', command: ['fastqc', 'in.fq'] }],
          tags: { 'constellation.sim_seconds': '60', 'galaxy.tool': 'fastqc' },
        })
        .expect(200);
      ids.push(res.body.id as string);
    }
    for (const id of ids) await untilState(client, id, 'RUNNING');
    expect(sim.site(slowSlug).counts().running).toBe(3);

    await action(fast.id, 'resume');
    await action(slow.id, 'drain');
    await sim.fault(slowSlug, mode);

    for (const id of ids) {
      const done = await untilFinished<FullTask>(client, id, `task ${id} after ${mode}`);
      expect(done.state).toBe('COMPLETE');
      expect(done.logs.map((l) => l.metadata.site)).toEqual([slowSlug, fastSlug]);
    }
  });
});
