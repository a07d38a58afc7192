import request from 'supertest';
import { DataSource } from 'typeorm';
import type { FakeTesSite } from '@constellation/testing';
import {
  registerFakeTesSite,
  startDispatchSuite,
  untilFinished,
  type DispatchSuite,
} from './support/dispatch-suite';
import { tes } from './support/tes-client';
import { waitFor } from './support/wait-for';

jest.setTimeout(60_000);

interface Candidate {
  siteId: string;
  feasible: boolean;
  queueWaitS: number;
  sources?: Record<string, string>;
  source_refs?: number[];
}

interface PlacementRecord {
  site_id?: string;
  candidates: Candidate[];
  source_texts?: string[];
}

/**
 * A placement's explanation is stored with each source text once (libs/tes/src/placement-storage.ts) and
 * served as placement made it: every feasible candidate with the words of its three terms.
 */
describe('the placement explanation, stored compact and served whole', () => {
  let s: DispatchSuite;
  let db: DataSource;
  const sites: { fake: FakeTesSite; id: string; slug: string }[] = [];

  beforeAll(async () => {
    s = await startDispatchSuite();
    db = s.t.app.get(DataSource);
    for (let i = 0; i < 3; i++) sites.push(await registerFakeTesSite(s.t, s.provider, s.admin));
  });
  afterAll(async () => {
    await s?.t.close();
    await Promise.all(sites.map((site) => site.fake.close()));
  });

  it('keeps each source text once in task.placement, and the API answers with every candidate’s sources', async () => {
    const { body } = await tes(s.t.url, s.alice)
      .create({
        executors: [{ image: 'alpine', command: ['true'] }],
        resources: { zones: sites.map((site) => site.slug) },
      })
      .expect(200);
    const id = body.id as string;
    const served = await waitFor(`task ${id} placed`, async () => {
      const res = await request(s.t.url)
        .get(`/api/v1/tasks/${id}/placement`)
        .set('Authorization', s.alice.bearer)
        .expect(200);
      const placement = (res.body as { placement: PlacementRecord | null }).placement;
      return placement?.site_id ? placement : undefined;
    });
    const ours = served.candidates.filter((c) => sites.some((site) => site.id === c.siteId));
    expect(ours).toHaveLength(3);
    for (const c of ours) {
      expect(c.feasible).toBe(true);
      expect(c).not.toHaveProperty('source_refs');
      expect(Object.keys(c.sources ?? {}).sort()).toEqual(['queueWaitS', 'runS', 'transferS']);
      expect(c.sources?.transferS).toBe('no inputs to fetch');
    }
    expect(served).not.toHaveProperty('source_texts');

    const [row]: { placement: PlacementRecord }[] = await db.query(
      'SELECT placement FROM task WHERE id = $1',
      [id],
    );
    const stored = row.placement;
    const texts = stored.source_texts ?? [];
    // Three sites of one kind with no history share their words: each is stored once.
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts).toContain('no inputs to fetch');
    expect(stored.candidates.some((c) => 'sources' in c)).toBe(false);
    for (const c of stored.candidates.filter((x) => x.feasible)) {
      const at = served.candidates.find((x) => x.siteId === c.siteId);
      const refs = c.source_refs ?? [];
      expect([texts[refs[0]], texts[refs[1]], texts[refs[2]]]).toEqual([
        at?.sources?.queueWaitS,
        at?.sources?.transferS,
        at?.sources?.runS,
      ]);
      // The terms stay where SQL reads them (the take-back claim's expected wait).
      expect(c.queueWaitS).toBe(at?.queueWaitS);
    }
  });

  it('serves a record stored before source texts were kept once as it was stored', async () => {
    const { body } = await tes(s.t.url, s.alice)
      .create({ executors: [{ image: 'alpine', command: ['true'] }], resources: { zones: [sites[0].slug] } })
      .expect(200);
    const id = body.id as string;
    // Finished first, so no pass of dispatch writes the record after the test has.
    expect((await untilFinished<{ state: string }>(tes(s.t.url, s.alice), id)).state).toBe('COMPLETE');
    const old = {
      decision: 'wait',
      candidates: [
        {
          siteId: sites[0].id,
          feasible: true,
          queueWaitS: 5,
          sources: { runS: 'r', queueWaitS: 'q', transferS: 't' },
        },
      ],
    };
    await db.query(`UPDATE task SET placement = $2::jsonb WHERE id = $1`, [id, JSON.stringify(old)]);
    const res = await request(s.t.url)
      .get(`/api/v1/tasks/${id}/placement`)
      .set('Authorization', s.alice.bearer)
      .expect(200);
    expect((res.body as { placement: unknown }).placement).toEqual(old);
  });
});
