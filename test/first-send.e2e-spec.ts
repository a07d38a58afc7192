import request from 'supertest';
import { DataSource } from 'typeorm';
import { TaskLeaseRepository } from '@constellation/tes';
import type { FakeTesSite } from '@constellation/testing';
import { PlacementService } from '../libs/dispatch/src/placement.service';
import { SubmissionService } from '../libs/dispatch/src/submission.service';
import { createPrincipal, type TestPrincipal } from './support/principals';
import { registerFakeTesSite, startDispatchApp } from './support/dispatch-suite';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';

jest.setTimeout(90_000);

const TOKEN = 'first-send-site-token';

/**
 * The first send of an attempt skips the look for an earlier copy (docs/dispatch.md, "Submission"); a later
 * claim of the same attempt, after a replica that sent died before recording, looks and adopts that copy.
 * The rounds are driven by hand, so each claim is the test's.
 */
describe('first send of an attempt', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: { fake: FakeTesSite; id: string; slug: string };
  let db: DataSource;

  beforeAll(async () => {
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0', CONSTELLATION_TRACK_SECONDS: '30' });
    db = t.app.get(DataSource);
    admin = await createPrincipal(t, 'admin');
    site = await registerFakeTesSite(
      t,
      admin,
      admin,
      { requireToken: TOKEN },
      { credentials: { token: TOKEN } },
    );
  });
  afterAll(async () => {
    await t?.close();
    await site?.fake.close();
  });

  /** A task created and placed at the site (INITIALIZING, attempt 1), not yet claimed for submission. */
  async function placed(): Promise<string> {
    const { body } = await tes(t.url, admin)
      .create({
        executors: [{ image: 'alpine', command: ['sleep', '600'] }],
        resources: { zones: [site.slug] },
      })
      .expect(200);
    await t.app.get(PlacementService).placeQueued();
    const [row] = (await db.query(`SELECT state, current_attempt FROM task WHERE id = $1`, [body.id])) as {
      state: string;
      current_attempt: number;
    }[];
    expect(row).toEqual({ state: 'INITIALIZING', current_attempt: 1 });
    return body.id as string;
  }

  const lookups = (from: number) =>
    site.fake
      .requests()
      .slice(from)
      .filter((r) => r.method === 'GET' && r.path.endsWith('/tasks') && r.query.includes('tag_key'));
  const posts = (from: number) =>
    site.fake
      .requests()
      .slice(from)
      .filter((r) => r.method === 'POST' && r.path.endsWith('/tasks'));
  const remoteIdOf = async (id: string) =>
    ((await db.query(`SELECT remote_id FROM task WHERE id = $1`, [id])) as { remote_id: string | null }[])[0]
      .remote_id;

  it('sends the first claim of an attempt without looking for a copy first', async () => {
    const id = await placed();
    const from = site.fake.requests().length;
    await t.app.get(SubmissionService).submitPlaced('replica-a');
    expect(posts(from)).toHaveLength(1);
    expect(lookups(from)).toHaveLength(0);
    const copies = site.fake.tasks().filter((c) => c.tags?.['constellation.task'] === id);
    expect(copies).toHaveLength(1);
    expect(await remoteIdOf(id)).toBe(copies[0].id);
  });

  it('looks before sending again an attempt an earlier claim may have sent, and adopts its copy', async () => {
    const id = await placed();
    // Replica A claims the attempt and its send lands at the site; A dies before it records the answer.
    const [claimed] = await t.app.get(TaskLeaseRepository).claim('submit', 'replica-a', new Date(), 30, 10);
    expect(claimed).toMatchObject({ id, firstSend: true });
    const landed = await request(site.fake.apiUrl)
      .post('/tasks')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({
        executors: [{ image: 'alpine', command: ['sleep', '600'] }],
        tags: { 'constellation.task': id, 'constellation.attempt': '1' },
      })
      .expect(200);
    // A's lease runs out: replica B claims the same attempt.
    await db.query(
      `UPDATE task SET lease_until = now() - interval '1 second', next_check_at = now() WHERE id = $1`,
      [id],
    );
    const from = site.fake.requests().length;
    await t.app.get(SubmissionService).submitPlaced('replica-b');
    expect(lookups(from)).toHaveLength(1);
    expect(posts(from)).toHaveLength(0);
    expect(site.fake.tasks().filter((c) => c.tags?.['constellation.task'] === id)).toHaveLength(1);
    expect(await remoteIdOf(id)).toBe(landed.body.id);
  });

  it('sends a new attempt at another site as a first send again', async () => {
    const spare = await registerFakeTesSite(t, admin, admin);
    const { body } = await tes(t.url, admin)
      .create({
        executors: [{ image: 'alpine', command: ['sleep', '600'] }],
        resources: { zones: [site.slug, spare.slug] },
      })
      .expect(200);
    const id = body.id as string;
    await t.app.get(PlacementService).placeQueued();
    // Attempt 1 is refused wherever it was placed: the task fails over to the other site as attempt 2.
    for (const s of [site.fake, spare.fake]) s.failNext(400, 1, { method: 'POST', path: '/tasks' });
    await t.app.get(SubmissionService).submitPlaced('replica-a');
    for (const s of [site.fake, spare.fake]) s.clearFailures();
    await t.app.get(PlacementService).placeQueued();
    const [row] = (await db.query(`SELECT current_attempt, site_id FROM task WHERE id = $1`, [id])) as {
      current_attempt: number;
      site_id: string;
    }[];
    expect(row.current_attempt).toBe(2);
    const second = row.site_id === spare.id ? spare.fake : site.fake;
    const from = second.requests().length;
    await t.app.get(SubmissionService).submitPlaced('replica-b');
    const sent = second.requests().slice(from);
    expect(sent.filter((r) => r.method === 'POST' && r.path.endsWith('/tasks'))).toHaveLength(1);
    expect(sent.filter((r) => r.method === 'GET' && r.query.includes('tag_key'))).toHaveLength(0);
    expect(await remoteIdOf(id)).not.toBeNull();
    await spare.fake.close();
  });
});
