import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { SiteCatalog } from '@constellation/registry';
import type { Completion } from '@constellation/scheduler';
import { EstimateStore } from '../libs/dispatch/src/estimates/estimate.store';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tesSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { registerSiteUp, startDispatchApp } from './support/dispatch-suite';
import { callsWithin } from './support/calls-within';
import { OwnDatabase } from './support/own-database';
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
  // A database of its own: the rounds this test drives would otherwise also submit, track, deliver or cancel
  // what other suites left on the run's database, and read those sites one by one.
  const own = new OwnDatabase(
    `${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_tracking_batch`,
  );

  beforeAll(async () => {
    await own.create();
    // Rounds driven by the test.
    t = await startDispatchApp({
      DATABASE_URL: own.url,
      CONSTELLATION_DISPATCH_SECONDS: '0',
      CONSTELLATION_TRACK_SECONDS: '30',
    });
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
    await own.drop();
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
    await db.query(`UPDATE site_tracking SET next_walk_at = now() - interval '1 second'`);
    // The round's reads alone: the probe loop reads the site (site()) for each of its probes, every second here.
    const {
      result: { calls: many },
      calls: one,
    } = await callsWithin(catalog, 'site', () =>
      callsWithin(catalog, 'sites', () => t.app.get(DispatchLoop).tick()),
    );
    expect(one).toEqual([]);
    expect(many.length).toBeGreaterThan(0);
  });

  it('learns from a batch of completions with one locking read and one write, as learning in memory does', async () => {
    const [{ id: siteId }] = (await db.query('SELECT id FROM site ORDER BY created_at LIMIT 1')) as {
      id: string;
    }[];
    const key = Math.random().toString(36).slice(2, 10);
    const batch: Completion[] = [
      { tool: `a-${key}`, toolLabel: 'a', siteId, inputBytes: 1e6, cores: 1, runS: 10, queueS: 2, at: 1e9 },
      { tool: `b-${key}`, toolLabel: 'b', siteId, inputBytes: 2e6, cores: 2, runS: 25.5, at: 1e9 + 1 },
      {
        tool: `a-${key}`,
        toolLabel: 'a',
        siteId,
        inputBytes: 4e6,
        cores: 1,
        runS: 31.25,
        queueS: 1,
        at: 1e9 + 2,
      },
    ];
    const store = t.app.get(EstimateStore);
    const before = await store.estimatorFor([`a-${key}`, `b-${key}`]);
    const statements: string[] = [];
    // Twice: the second learns on top of rows the first wrote, read back through the one locking read.
    for (let round = 0; round < 2; round++) {
      await db.transaction(async (m) => {
        const query = m.query.bind(m);
        jest.spyOn(m, 'query').mockImplementation((sql: string, params?: unknown[]) => {
          statements.push(sql);
          return query(sql, params);
        });
        await store.learn(m, batch);
      });
    }
    expect(statements).toHaveLength(4);
    for (const c of [...batch, ...batch]) before.observe(c);
    const after = await store.estimatorFor([`a-${key}`, `b-${key}`]);
    for (const tool of [`a-${key}`, `b-${key}`]) {
      expect(after.tool(tool)).toEqual(before.tool(tool));
      expect(after.toolSite(tool, siteId)).toEqual(before.toolSite(tool, siteId));
    }
    expect(after.site(siteId)).toEqual(before.site(siteId));
  });
});
