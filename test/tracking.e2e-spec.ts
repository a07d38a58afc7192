import { DataSource } from 'typeorm';
import {
  amqpForTests,
  startFakePulsarSite,
  startFakeTesSite,
  type FakePulsarAmqp,
  type FakePulsarSite,
  type FakeTesSite,
} from '@constellation/testing';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { TrackingService } from '../libs/dispatch/src/tracking.service';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { pulsarRestSiteDocument, siteDocument } from './support/site-documents';
import { startAmqpDispatch, type AmqpDispatch } from './support/amqp-dispatch';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { allIn, createTasks, registerSiteUp, startDispatchApp, untilState } from './support/dispatch-suite';
import { waitFor } from './support/wait-for';

jest.setTimeout(90_000);

const amqp = amqpForTests();
const describeAmqp = amqp.skipReason === null ? describe : describe.skip;

describeAmqp('tracking a Pulsar AMQP site: pushed updates are applied when they arrive', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let pulsar: FakePulsarAmqp;
  let slug: string;
  let fixture: AmqpDispatch | undefined;

  beforeAll(async () => {
    fixture = await startAmqpDispatch(amqp.url, {
      // A minute between checks: only the pushed update can make the task finish within a second.
      CONSTELLATION_TRACK_SECONDS: '60',
      CONSTELLATION_DISPATCH_SECONDS: '0.2',
      CONSTELLATION_LEASE_SECONDS: '10',
    });
    ({ t, admin, pulsar, slug } = fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('applies a pushed COMPLETE within a second, with CONSTELLATION_TRACK_SECONDS=60, and sends no status request', async () => {
    pulsar.hold();
    const [id] = await createTasks(t, admin, slug, 1, ['true']);
    // RUNNING is pushed too: applied without waiting for a check a minute away.
    await untilState(tes(t.url, admin), id, 'RUNNING', 'the pushed RUNNING applied');
    const asked = pulsar.statusRequests().length;
    pulsar.release();
    // From the moment Pulsar publishes the final status (the job's own run time is not the broker's).
    await waitFor('Pulsar to finish the job', async () =>
      pulsar.job(`${id}-1`)?.status === 'complete' ? true : undefined,
    );
    const published = Date.now();
    const state = await waitFor(
      'the pushed COMPLETE applied',
      async () => {
        const { body } = await tes(t.url, admin).get(id);
        return body.state === 'RUNNING' ? undefined : (body.state as string);
      },
      2_000,
    );
    expect(state).toBe('COMPLETE');
    expect(Date.now() - published).toBeLessThan(2_000);
    // Nothing asked Pulsar about the job: the updates came unasked, and the attempt's first send skips the
    // look for an earlier copy (its claim proves none was sent).
    expect(pulsar.statusRequests().length).toBe(asked);
    expect(pulsar.statusRequests().filter((job) => job === `${id}-1`)).toHaveLength(0);
    const [{ next_check_at: next }]: { next_check_at: Date | null }[] = await t.app
      .get(DataSource)
      .query('SELECT next_check_at FROM task WHERE id = $1', [id]);
    expect(next).toBeNull();
  });
});

describe('tracking a TES site: one list call per site and round', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let slug: string;
  // A database of its own: a replica of another suite on the run's database (one still closing, say) would
  // walk this site too, between the rounds this test drives and counts.
  const db = new OwnDatabase(
    `${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_tracking_walk`,
  );

  beforeAll(async () => {
    await db.create();
    // Rounds driven by the test, so one round's calls can be counted.
    t = await startDispatchApp({ DATABASE_URL: db.url, CONSTELLATION_DISPATCH_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    site = await startFakeTesSite({ stepDelayMs: 5 });
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      siteDocument({ kind: 'tes', url: site.url, credentials: null, capacity: { max_concurrent_tasks: 50 } }),
    ));
  });
  afterAll(async () => {
    await t?.close();
    await site?.close();
    await db.drop();
  });

  it('asks about 12 running tasks with one GET /tasks by tag and no GET per task', async () => {
    const loop = t.app.get(DispatchLoop);
    // `sleep 6000` runs for a minute at the fake's time scale: long enough to watch.
    const ids = await createTasks(t, admin, slug, 12, ['sleep', '6000']);
    await waitFor('all 12 tasks running', async () => {
      await loop.tick();
      const states = await Promise.all(ids.map(async (id) => (await tes(t.url, admin).get(id)).body.state));
      return states.every((s) => s === 'RUNNING') ? true : undefined;
    });
    // A round joins a tracking pass a wake-up began: on a loaded machine that pass may have started before the
    // tasks were set due and walked nothing. Such a round is measured again, after the pass has ended.
    const tracking = t.app.get(TrackingService);
    let round = { tracked: 0 };
    let calls: ReturnType<FakeTesSite['requests']> = [];
    for (let attempt = 0; attempt < 3 && round.tracked !== 12; attempt++) {
      await tracking.settled();
      // Every task due (a second back: now() has microseconds, the claims compare with a millisecond Date).
      await t.app
        .get(DataSource)
        .query(`UPDATE task SET next_check_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [
          ids,
        ]);
      const before = site.requests().length;
      round = await loop.tick();
      calls = site.requests().slice(before);
    }
    // What the last round found, should it have walked nothing: who held the walk, and the tasks' claims.
    const found = async () =>
      JSON.stringify({
        round,
        walk: await t.app.get(DataSource).query('SELECT *, clock_timestamp() AS now FROM site_tracking'),
        tasks: await t.app
          .get(DataSource)
          .query(
            'SELECT state, claimed_by, lease_until, next_check_at, count(*)::int AS n FROM task WHERE id = ANY($1::uuid[]) GROUP BY 1, 2, 3, 4',
            [ids],
          ),
        calls,
      });
    expect({ tracked: round.tracked, found: round.tracked === 12 ? '' : await found() }).toEqual({
      tracked: 12,
      found: '',
    });
    expect(calls.filter((c) => /\/tasks\/[^/]+$/.test(c.path))).toEqual([]);
    const lists = calls.filter((c) => c.method === 'GET' && c.path === '/ga4gh/tes/v1/tasks');
    expect(lists).toHaveLength(1);
    expect(new URLSearchParams(lists[0].query).get('tag_key')).toBe('constellation.task');
    expect(new URLSearchParams(lists[0].query).get('view')).toBe('BASIC');
    for (const id of ids) await tes(t.url, admin).cancel(id).expect(200);
  });
});

describe('tracking a Pulsar REST site: the per-site request budget', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let pulsar: FakePulsarSite;
  let slug: string;

  beforeAll(async () => {
    t = await startDispatchApp({ CONSTELLATION_SITE_REQUESTS_PER_SECOND: '5' });
    admin = await createPrincipal(t, 'admin');
    pulsar = await startFakePulsarSite({ token: 'budget-token' });
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      pulsarRestSiteDocument(pulsar.url, 'budget-token', { capacity: { max_concurrent_tasks: 50 } }),
    ));
  });
  afterAll(async () => {
    await t?.close();
    await pulsar?.close();
  });

  it('sends at most 5 status requests a second to a site with 20 running jobs and checks due every 50 ms', async () => {
    pulsar.hold();
    const ids = await createTasks(t, admin, slug, 20, ['true']);
    await allIn(t, admin, ids, 'RUNNING');
    const statusCalls = () =>
      pulsar.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/status'));
    const before = statusCalls().length;
    const windowMs = 3_000;
    await new Promise((r) => setTimeout(r, windowMs));
    const sent = statusCalls().length - before;
    // Unpaced, 20 jobs checked every 50 ms would be 400 requests a second. The budget: 5 a second, plus a
    // burst of at most one second's worth.
    expect(sent).toBeLessThanOrEqual(5 * (windowMs / 1000) + 5);
    // And it is used: the jobs are asked about, at least a second's worth in the window.
    expect(sent).toBeGreaterThanOrEqual(5);
    pulsar.release();
    for (const id of ids) await untilState(tes(t.url, admin), id, 'COMPLETE', `task ${id} COMPLETE`);
  });
});
