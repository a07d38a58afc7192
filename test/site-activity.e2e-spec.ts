import request from 'supertest';
import { DataSource } from 'typeorm';
import { createPrincipal, TestPrincipal } from './support/principals';
import { registerSite } from './support/dispatch-suite';
import { startTestApp, TestApp } from './support/test-app';

describe("a site's activity (GET /api/v1/sites/{ref}/activity)", () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  let siteId: string;
  let slug: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'submitter');
    bob = await createPrincipal(t, 'submitter');
    const provider = await createPrincipal(t, 'provider');
    ({ id: siteId, slug } = await registerSite(t, provider));
    const create = async (who: TestPrincipal, name: string) =>
      (
        await request(t.url)
          .post('/ga4gh/tes/v1/tasks')
          .set('Authorization', who.bearer)
          .send({ name, executors: [{ image: 'alpine', command: ['true'] }] })
          .expect(200)
      ).body.id as string;
    ids.done = await create(alice, 'done');
    ids.running = await create(alice, 'running');
    ids.bobs = await create(bob, 'bobs');
    // The history dispatch would have written (it is off in this suite): `done` ran from 2 h ago to 1 h ago,
    // `running` from 30 min ago on, `bobs` went back to the queue 10 min after it started, 3 h ago.
    const db = t.app.get(DataSource);
    const event = (task: string, minutesAgo: number, to: string, site: string | null) =>
      db.query(
        `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
         VALUES (gen_random_uuid(), $1, now() - make_interval(mins => $2), NULL, $3, $4, 1, 'test', 'state')`,
        [task, minutesAgo, to, site],
      );
    // Their creation (the QUEUED event the API just wrote) goes back before all that.
    await db.query(`UPDATE task_event SET created_at = now() - interval '4 hours' WHERE task_id = ANY($1)`, [
      Object.values(ids),
    ]);
    await event(ids.done, 120, 'INITIALIZING', siteId);
    await event(ids.done, 119, 'RUNNING', siteId);
    await event(ids.done, 60, 'COMPLETE', siteId);
    await event(ids.running, 30, 'INITIALIZING', siteId);
    await event(ids.running, 29, 'RUNNING', siteId);
    await event(ids.bobs, 180, 'INITIALIZING', siteId);
    await event(ids.bobs, 170, 'QUEUED', null);
    await db.query('UPDATE task SET site_id = $1 WHERE id = ANY($2)', [siteId, Object.values(ids)]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const activity = (who: TestPrincipal, query = '') =>
    request(t.url).get(`/api/v1/sites/${slug}/activity${query}`).set('Authorization', who.bearer);

  it('samples how many tasks ran at the site over the window', async () => {
    const res = await activity(alice, '?hours=4').expect(200);
    expect(res.body).toMatchObject({ site_id: siteId, hours: 4, step_seconds: 120 });
    const samples = res.body.load as { at: string; running: number }[];
    expect(samples.length).toBe(121);
    const at = (minutesAgo: number) => {
      const when = Date.parse(samples[samples.length - 1].at) - minutesAgo * 60_000;
      return samples.reduce((best, s) =>
        Math.abs(Date.parse(s.at) - when) < Math.abs(Date.parse(best.at) - when) ? s : best,
      ).running;
    };
    expect(at(176)).toBe(1); // bobs
    expect(at(150)).toBe(0);
    expect(at(90)).toBe(1); // done
    expect(at(45)).toBe(0);
    expect(at(10)).toBe(1); // running
    expect(at(0)).toBe(1);
  });

  it("lists the latest tasks placed there: the caller's own, or all for an admin", async () => {
    const mine = (await activity(alice).expect(200)).body.recent_tasks as { id: string; name: string }[];
    expect(mine.map((x) => x.name).sort()).toEqual(['done', 'running']);
    const all = (await activity(admin).expect(200)).body.recent_tasks as { id: string }[];
    expect(all.map((x) => x.id).sort()).toEqual(Object.values(ids).sort());
  });

  it.each(['0', '169', '2.5', 'many'])('refuses hours=%s with a 400 naming the parameter', async (hours) => {
    const res = await activity(alice, `?hours=${hours}`).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toEqual([{ path: 'hours', reason: 'must be an integer from 1 to 168' }]);
  });

  it('needs a token and answers 404 for an unknown site', async () => {
    await request(t.url).get(`/api/v1/sites/${slug}/activity`).expect(401);
    await activity(alice).expect(200);
    const res = await request(t.url)
      .get('/api/v1/sites/no-such-site/activity')
      .set('Authorization', alice.bearer);
    expect(res.status).toBe(404);
  });
});
