import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { SiteCatalog } from '@constellation/registry';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tesSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { registerSiteUp, startDispatchApp } from './support/dispatch-suite';
import { waitFor } from './support/wait-for';

jest.setTimeout(90_000);

const TASKS = 25;

describe('tracking at throughput: sites read together, finished tasks recorded together', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let ids: string[];
  let db: DataSource;
  // A tool of its own, so completions of other suites in this database teach nothing about it.
  const image = `alpine:batch-${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    // Rounds driven by the test.
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0', CONSTELLATION_TRACK_SECONDS: '30' });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    const token = `site-token-${Math.random().toString(36).slice(2)}`;
    site = await startFakeTesSite({ stepDelayMs: 5, hold: true, requireToken: token });
    const document = tesSiteDocument(site.url, token, { capacity: { max_concurrent_tasks: 100 } });
    const { id: siteId } = await registerSiteUp(t, admin, admin, document);
    const [{ slug }] = (await db.query('SELECT slug FROM site WHERE id = $1', [siteId])) as {
      slug: string;
    }[];
    ids = [];
    for (let i = 0; i < TASKS; i++) {
      const { body } = await tes(t.url, admin)
        .create({ executors: [{ image, command: ['true'] }], resources: { zones: [slug] } })
        .expect(200);
      ids.push(body.id as string);
    }
    const loop = t.app.get(DispatchLoop);
    await waitFor(`all ${TASKS} tasks at their site`, async () => {
      await loop.tick();
      return site.tasks().length === TASKS ? true : undefined;
    });
  });
  afterAll(async () => {
    await t?.close();
    await site?.close();
  });

  it('writes every COMPLETE, its event and what it teaches the estimates in one transaction', async () => {
    site.release();
    await waitFor('every task finished at the site', async () =>
      site.tasks().every((x) => x.state === 'COMPLETE') ? true : undefined,
    );
    const loop = t.app.get(DispatchLoop);
    await waitFor('every task COMPLETE in the broker', async () => {
      // Due at once, so the next round walks the site.
      await db.query(`UPDATE site_tracking SET next_walk_at = now() - interval '1 second'`);
      await loop.tick();
      const [{ n }] = (await db.query(
        `SELECT count(*)::int AS n FROM task WHERE id = ANY($1::uuid[]) AND state = 'COMPLETE'`,
        [ids],
      )) as { n: number }[];
      return n === TASKS ? true : undefined;
    });
    const rows = (await db.query(`SELECT xmin::text AS xmin, version FROM task WHERE id = ANY($1::uuid[])`, [
      ids,
    ])) as { xmin: string; version: number }[];
    // The site finished them all before the walk that saw them: one transaction wrote them all.
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
    const events = (await db.query(
      `SELECT task_id, from_state, xmin::text AS xmin FROM task_event
       WHERE task_id = ANY($1::uuid[]) AND to_state = 'COMPLETE'`,
      [ids],
    )) as { task_id: string; from_state: string; xmin: string }[];
    expect(events.map((e) => e.task_id).sort()).toEqual([...ids].sort());
    expect(new Set(events.map((e) => e.xmin))).toEqual(new Set(rows.map((r) => r.xmin)));
    // Every completion taught the estimator, none twice.
    const [tool] = (await db.query(`SELECT runs FROM tool_estimate WHERE fingerprint LIKE $1`, [
      `%${image.split(':')[1]}%`,
    ])) as { runs: number }[];
    expect(tool?.runs).toBe(TASKS);
    const [pair] = (await db.query(
      `SELECT sum(runs)::float8 AS runs FROM tool_site_estimate WHERE fingerprint LIKE $1`,
      [`%${image.split(':')[1]}%`],
    )) as { runs: number }[];
    expect(pair.runs).toBe(TASKS);
  });

  it('reads every site due in a pass with one statement, not one per site', async () => {
    const catalog = t.app.get(SiteCatalog);
    const one = jest.spyOn(catalog, 'site');
    const many = jest.spyOn(catalog, 'sites');
    try {
      await db.query(`UPDATE site_tracking SET next_walk_at = now() - interval '1 second'`);
      await t.app.get(DispatchLoop).tick();
      expect(one).not.toHaveBeenCalled();
      expect(many).toHaveBeenCalled();
    } finally {
      one.mockRestore();
      many.mockRestore();
    }
  });
});
