import request from 'supertest';
import { DataSource } from 'typeorm';
import { PlacementService } from '../libs/dispatch/src/placement.service';
import { startFakeTesSite, FakeTesSite, FakeTesTask } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { startDispatchSuite, registerFakeTesSite, untilFinished } from './support/dispatch-suite';
import { taskEvents, type TaskEvent } from './support/task-events';

jest.setTimeout(90_000);

interface Row {
  state: string;
  site_id: string | null;
  remote_state: string | null;
  current_attempt: number;
  take_backs: number;
}

/** Lisbon: far from the submitter's data in Freiburg, so a site there pays a transfer a site in Freiburg does not. */
const FAR = { country: 'PT', latitude: 38.72, longitude: -9.14 };
const NEAR = { country: 'DE', latitude: 47.99, longitude: 7.84 };
/** A task is overdue at its site after max(its expected queue wait + transfer there, 2 s). */
const FAST_TAKE_BACK = {
  CONSTELLATION_TAKE_BACK_FLOOR_SECONDS: '2',
  CONSTELLATION_TAKE_BACK_LOOK_SECONDS: '0.5',
};

/**
 * One broker with its fakes: sites registered on demand, and a submitter whose data lives in Freiburg (its
 * home data store), so placement prefers a site there to one in Lisbon.
 */
function takeBackSuite(env: Record<string, string>) {
  const s = {} as { t: TestApp; admin: TestPrincipal; provider: TestPrincipal; bob: TestPrincipal };
  const fakes: FakeTesSite[] = [];

  beforeAll(async () => {
    const suite = await startDispatchSuite(env);
    Object.assign(s, suite);
    const store = await request(s.t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', s.admin.bearer)
      .send({
        name: `home-${Math.random().toString(36).slice(2, 8)}`,
        url_prefixes: [`https://galaxy-${Math.random().toString(36).slice(2, 8)}.example.org/`],
        ...NEAR,
      })
      .expect(201);
    s.bob = await createPrincipal(s.t, 'submitter');
    await request(s.t.url)
      .patch(`/api/v1/principals/${s.bob.name}`)
      .set('Authorization', s.admin.bearer)
      .send({ home_data_store_id: store.body.id })
      .expect(200);
  });
  afterAll(async () => {
    await s.t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function site(
    slug: string,
    where: Record<string, unknown>,
    options: Parameters<typeof startFakeTesSite>[0] = {},
    doc: Record<string, unknown> = {},
  ): Promise<{ fake: FakeTesSite; id: string; slug: string }> {
    const registered = await registerFakeTesSite(s.t, s.provider, s.admin, options, {
      slug,
      ...where,
      capacity: { max_concurrent_tasks: 20, per_task: { cores: 16, memory_gib: 64 } },
      ...doc,
    });
    fakes.push(registered.fake);
    return registered;
  }

  const row = async (id: string): Promise<Row> =>
    (
      (await s.t.app
        .get(DataSource)
        .query(`SELECT state, site_id, remote_state, current_attempt, take_backs FROM task WHERE id = $1`, [
          id,
        ])) as Row[]
    )[0];

  /** A task of bob's that may run at the named sites; its id once its first site holds it QUEUED. */
  async function queuedAt(siteId: string, zones: string[], cores = 1): Promise<string> {
    const { body } = await tes(s.t.url, s.bob)
      .create({
        executors: [{ image: 'alpine', command: ['echo', 'hi'] }],
        resources: { zones, cpu_cores: cores },
      })
      .expect(200);
    const id = body.id as string;
    await waitFor(`task ${id} reported QUEUED at its site`, async () => {
      const r = await row(id);
      return r.site_id === siteId && r.remote_state === 'QUEUED' ? true : undefined;
    });
    return id;
  }

  const events = (id: string): Promise<TaskEvent[]> => taskEvents(s.t.url, s.admin, id);

  return { s, site, row, queuedAt, events };
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
const copiesOf = (fake: FakeTesSite, id: string): FakeTesTask[] =>
  fake.tasks().filter((r) => r.tags?.['constellation.task'] === id);
const cancelsAt = (fake: FakeTesSite) =>
  fake.requests().filter((r) => r.method === 'POST' && r.path.endsWith(':cancel'));
/** A copy that ever started has a task log (the fake writes it when it picks the task up). */
const started = (copy: FakeTesTask) => (copy.logs ?? []).length > 0;

/** Checks every 100 ms for `ms` that nothing moved; the first check that fails fails the test. */
async function holdsFor(ms: number, check: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await check();
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('take-back of a task stuck in a site queue (docs/dispatch.md)', () => {
  const { s, site, row, queuedAt, events } = takeBackSuite(FAST_TAKE_BACK);

  it('cancels it at the site that holds it queued and runs it at the free site; one copy ever ran', async () => {
    const aSlug = unique('held');
    const bSlug = unique('free');
    const a = await site(aSlug, FAR, { hold: true });
    const id = await queuedAt(a.id, [aSlug, bSlug]);
    const b = await site(bSlug, NEAR);

    const done = await untilFinished(tes(s.t.url, s.bob), id, 'the task taken back to finish at B');
    expect(done.state).toBe('COMPLETE');
    expect(done.logs).toHaveLength(2);
    expect(done.logs[0].metadata).toMatchObject({ site: aSlug, attempt: '1' });
    expect(done.logs[1].metadata).toMatchObject({ site: bSlug, attempt: '2' });
    const reason = new RegExp(
      `^taken back from ${aSlug} after \\d+ s queued; expected \\d+ s sooner at ${bSlug}$`,
    );
    expect(done.logs[0].system_logs).toContainEqual(expect.stringMatching(reason));

    // The copy at A was cancelled while queued there, never started; B ran the only copy that ever ran.
    const atA = copiesOf(a.fake, id);
    expect(atA).toHaveLength(1);
    expect(atA[0].state).toBe('CANCELED');
    expect(started(atA[0])).toBe(false);
    expect(cancelsAt(a.fake).map((r) => r.path)).toEqual([`/ga4gh/tes/v1/tasks/${atA[0].id}:cancel`]);
    expect(copiesOf(b.fake, id).map((c) => c.state)).toEqual(['COMPLETE']);

    const back = (await events(id)).filter((e) => e.from === 'INITIALIZING' && e.to === 'QUEUED');
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ site_id: a.id, attempt: 1, kind: 'state' });
    expect(back[0].reason).toMatch(reason);

    // The placement of attempt 2 says the first was taken back, and why.
    const explained = await request(s.t.url)
      .get(`/api/v1/tasks/${id}/placement`)
      .set('Authorization', s.bob.bearer)
      .expect(200);
    expect(explained.body.placement).toMatchObject({
      attempt: 2,
      site_id: b.id,
      previous_attempt: { attempt: 1, site_id: a.id, site: aSlug, to_site: bSlug, reason: back[0].reason },
    });
    // A take-back is not a failed attempt: it is counted apart.
    expect(await row(id)).toMatchObject({ current_attempt: 2, take_backs: 1 });
  });

  it('keeps a task its site starts while the take-back is decided; one copy', async () => {
    const aSlug = unique('starts');
    const bSlug = unique('free');
    const a = await site(aSlug, FAR, { hold: true });
    const id = await queuedAt(a.id, [aSlug, bSlug]);
    // The site starts the task just after placement judged that it should leave, before the broker asks it.
    const placement = s.t.app.get(PlacementService);
    const original = placement.placeAsIfLeft.bind(placement);
    const judged: (string | undefined)[] = [];
    const spy = jest.spyOn(placement, 'placeAsIfLeft').mockImplementation(async (task, now) => {
      const out = await original(task, now);
      if (task.id !== id) return out;
      judged.push(out?.placement.siteId);
      a.fake.release();
      await waitFor('the site to start the task', async () =>
        copiesOf(a.fake, id).some(started) ? true : undefined,
      );
      return out;
    });
    try {
      const b = await site(bSlug, NEAR);
      const done = await untilFinished(tes(s.t.url, s.bob), id, 'the task to finish where it started');
      expect(done.state).toBe('COMPLETE');
      expect(done.logs).toHaveLength(1);
      expect(done.logs[0].metadata).toMatchObject({ site: aSlug, attempt: '1' });
      // The step did judge it better at B, and went on to ask the site, which said it had started.
      expect(judged).toContain(b.id);
      expect(cancelsAt(a.fake)).toEqual([]);
      expect(copiesOf(a.fake, id).map((c) => c.state)).toEqual(['COMPLETE']);
      expect(copiesOf(b.fake, id)).toEqual([]);
      expect((await events(id)).filter((e) => e.to === 'QUEUED' && e.from !== null)).toEqual([]);
      expect(await row(id)).toMatchObject({ current_attempt: 1, take_backs: 0 });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('take-back: at most CONSTELLATION_TAKE_BACK_MAX times per task', () => {
  const { s, site, row, queuedAt } = takeBackSuite({ ...FAST_TAKE_BACK, CONSTELLATION_TAKE_BACK_MAX: '1' });

  it('a task taken back once stays at its next site, though its first site is now the better one', async () => {
    const aSlug = unique('first');
    const bSlug = unique('second');
    const a = await site(aSlug, FAR, { hold: true });
    const id = await queuedAt(a.id, [aSlug, bSlug]);
    const b = await site(bSlug, NEAR, { hold: true });
    await waitFor('the task taken back to B and queued there', async () => {
      const r = await row(id);
      return r.site_id === b.id && r.remote_state === 'QUEUED' ? r : undefined;
    });
    expect(await row(id)).toMatchObject({ current_attempt: 2, take_backs: 1 });
    // B's owner drains it: placement now sends the task to A, and would take it back there but for the limit.
    await request(s.t.url)
      .post(`/api/v1/sites/${b.id}/drain`)
      .set('Authorization', s.admin.bearer)
      .expect(200);
    await holdsFor(6_000, async () => {
      expect(await row(id)).toMatchObject({
        state: 'INITIALIZING',
        site_id: b.id,
        current_attempt: 2,
        take_backs: 1,
      });
    });
    expect(copiesOf(a.fake, id).map((c) => c.state)).toEqual(['CANCELED']);
    expect(cancelsAt(b.fake)).toEqual([]);
    b.fake.release();
    const done = await untilFinished(tes(s.t.url, s.bob), id);
    expect(done.state).toBe('COMPLETE');
    expect(done.logs).toHaveLength(2);
  });
});

describe('take-back off (CONSTELLATION_TAKE_BACK=false)', () => {
  const { s, site, row, queuedAt, events } = takeBackSuite({
    ...FAST_TAKE_BACK,
    CONSTELLATION_TAKE_BACK: 'false',
  });

  it('leaves a task queued at its site however long, with a better site free', async () => {
    const aSlug = unique('held');
    const bSlug = unique('free');
    const a = await site(aSlug, FAR, { hold: true });
    const id = await queuedAt(a.id, [aSlug, bSlug]);
    const b = await site(bSlug, NEAR);
    await holdsFor(6_000, async () => {
      expect(await row(id)).toMatchObject({ state: 'INITIALIZING', site_id: a.id, take_backs: 0 });
    });
    expect(cancelsAt(a.fake)).toEqual([]);
    expect(copiesOf(b.fake, id)).toEqual([]);
    a.fake.release();
    const done = await untilFinished(tes(s.t.url, s.bob), id);
    expect(done.state).toBe('COMPLETE');
    expect(done.logs).toHaveLength(1);
    expect((await events(id)).filter((e) => e.from === 'INITIALIZING' && e.to === 'QUEUED')).toEqual([]);
  });
});
