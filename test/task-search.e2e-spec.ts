import request from 'supertest';
import { DataSource } from 'typeorm';
import type { TaskSearchPage } from '../libs/tes/src/task.service';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

/** One task of a search page. */
type Found = TaskSearchPage['tasks'][number];

describe('task search (GET /api/v1/tasks)', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  let provider: TestPrincipal;
  let siteId: string;
  let slug: string;
  /** Task ids by name; created in this order, each an hour after the one before. */
  const ids: Record<string, string> = {};
  // Far from the times other suites give their tasks in the shared database: searches stay within the day.
  const base = Date.parse('2001-01-01T00:00:00Z');
  const day = { created_after: '2001-01-01', created_before: '2001-01-02' };
  const hour = (n: number) => new Date(base + n * 3600_000).toISOString();

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'submitter');
    bob = await createPrincipal(t, 'submitter');
    provider = await createPrincipal(t, 'provider');
    const site = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    siteId = site.body.id;
    slug = site.body.slug;
    const db = t.app.get(DataSource);
    const plan: Array<[TestPrincipal, string, boolean]> = [
      [alice, 'a0', true],
      [bob, 'b1', false],
      [alice, 'a2', false],
      [bob, 'b3', true],
      [alice, 'a4', true],
    ];
    for (const [n, [who, name, atSite]] of plan.entries()) {
      const res = await request(t.url)
        .post('/ga4gh/tes/v1/tasks')
        .set('Authorization', who.bearer)
        .send({ name, executors: [{ image: 'alpine', command: ['true'] }] })
        .expect(200);
      ids[name] = res.body.id;
      // Dispatch is off here: the suite sets what it would have (a site, a state) and when tasks came.
      await db.query('UPDATE task SET created_at = $2, site_id = $3, state = $4 WHERE id = $1', [
        res.body.id,
        hour(n),
        atSite ? siteId : null,
        atSite ? 'RUNNING' : 'QUEUED',
      ]);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const search = (who: TestPrincipal, query: Record<string, string> = {}) =>
    request(t.url)
      .get('/api/v1/tasks')
      .query({ ...day, ...query })
      .set('Authorization', who.bearer);
  const names = (body: { tasks: Found[] }) => body.tasks.map((x) => x.name);

  it('finds every task for an admin, newest first, with submitter and site', async () => {
    const res = await search(admin).expect(200);
    expect(names(res.body)).toEqual(['a4', 'b3', 'a2', 'b1', 'a0']);
    expect(res.body.next_page_token).toBeUndefined();
    expect(res.body.tasks[0]).toEqual({
      id: ids.a4,
      name: 'a4',
      state: 'RUNNING',
      creation_time: hour(4),
      submitter_id: alice.id,
      submitter: alice.name,
      site_id: siteId,
      site: slug,
    });
    expect(res.body.tasks[3]).toMatchObject({ name: 'b1', submitter: bob.name, site_id: null, site: null });
  });

  it("shows a submitter only its own tasks, even when it names another's", async () => {
    expect(names((await search(alice).expect(200)).body)).toEqual(['a4', 'a2', 'a0']);
    expect(names((await search(alice, { submitter: bob.name }).expect(200)).body)).toEqual([]);
    expect(names((await search(bob, { submitter: bob.id }).expect(200)).body)).toEqual(['b3', 'b1']);
  });

  it.each([
    { name: 'submitter by name', query: () => ({ submitter: bob.name }), want: ['b3', 'b1'] },
    { name: 'submitter by id', query: () => ({ submitter: alice.id }), want: ['a4', 'a2', 'a0'] },
    { name: 'site by slug', query: () => ({ site: slug }), want: ['a4', 'b3', 'a0'] },
    { name: 'site by id', query: () => ({ site: siteId }), want: ['a4', 'b3', 'a0'] },
    { name: 'unknown site', query: () => ({ site: 'no-such-site' }), want: [] },
    { name: 'state', query: () => ({ state: 'queued' }), want: ['a2', 'b1'] },
    { name: 'name prefix', query: () => ({ name_prefix: 'b' }), want: ['b3', 'b1'] },
    {
      name: 'created window (after inclusive, before exclusive)',
      query: () => ({ created_after: hour(1), created_before: hour(3) }),
      want: ['a2', 'b1'],
    },
    {
      name: 'dates and date-times',
      query: () => ({ created_after: '2001-01-01', created_before: '2001-01-01T03:00:00Z' }),
      want: ['a2', 'b1', 'a0'],
    },
    {
      name: 'every filter at once',
      query: () => ({ submitter: alice.name, site: slug, state: 'RUNNING', created_before: hour(4) }),
      want: ['a0'],
    },
  ])('filters by $name', async ({ query, want }) => {
    const found = names((await search(admin, query()).expect(200)).body);
    expect(found).toEqual(want);
  });

  it('pages by keyset: each page follows the last, the last page has no token', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await search(admin, { page_size: '2', ...(token ? { page_token: token } : {}) }).expect(
        200,
      );
      seen.push(...names(res.body).map(String));
      token = res.body.next_page_token;
      pages++;
    } while (token !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['a4', 'b3', 'a2', 'b1', 'a0']);
  });

  it('keeps tasks created in the same millisecond apart across pages', async () => {
    const db = t.app.get(DataSource);
    // Microseconds apart: a cursor rounded to milliseconds would lose one of them.
    await db.query(`UPDATE task SET created_at = $2::timestamptz + interval '7 microseconds' WHERE id = $1`, [
      ids.b1,
      hour(10),
    ]);
    await db.query(`UPDATE task SET created_at = $2::timestamptz + interval '3 microseconds' WHERE id = $1`, [
      ids.a2,
      hour(10),
    ]);
    const first = await search(admin, { page_size: '1', created_after: hour(9) }).expect(200);
    const second = await search(admin, {
      page_size: '1',
      created_after: hour(9),
      page_token: first.body.next_page_token,
    }).expect(200);
    expect([...names(first.body), ...names(second.body)]).toEqual(['b1', 'a2']);
    expect(second.body.next_page_token).toBeUndefined();
    await db.query('UPDATE task SET created_at = $2 WHERE id = $1', [ids.b1, hour(1)]);
    await db.query('UPDATE task SET created_at = $2 WHERE id = $1', [ids.a2, hour(2)]);
  });

  it.each<{ query: Record<string, string>; path: string; reason: RegExp }>([
    { query: { state: 'DONE' }, path: 'state', reason: /^must be one of UNKNOWN, QUEUED/ },
    { query: { created_after: 'yesterday' }, path: 'created_after', reason: /^must be a date-time/ },
    {
      query: { created_before: '2026-13-45T99:00:00Z' },
      path: 'created_before',
      reason: /^must be a date-time/,
    },
    {
      query: { created_after: '2026-11-02', created_before: '2026-11-01' },
      path: 'created_before',
      reason: /^must be later than created_after$/,
    },
    { query: { page_size: '0' }, path: 'page_size', reason: /^must be a whole number from 1 to 2047/ },
    { query: { page_token: 'bm90LWEtdG9rZW4' }, path: 'page_token', reason: /^is not a page token/ },
    { query: { site: 'x'.repeat(201) }, path: 'site', reason: /^must be at most 200 characters$/ },
    { query: { submiter: 'alice' }, path: 'submiter', reason: /^is not a parameter of this search$/ },
  ])('answers 400 naming $path for a bad value', async ({ query, path, reason }) => {
    const res = await search(admin, query).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe(path);
    expect(res.body.errors[0].reason).toMatch(reason);
  });

  it('lists every bad parameter at once, and refuses a repeated one', async () => {
    const res = await request(t.url)
      .get('/api/v1/tasks?state=x&state=y&created_after=soon')
      .set('Authorization', admin.bearer)
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['created_after', 'state']);
  });

  it('needs a token, and is for submitters and admins', async () => {
    await request(t.url).get('/api/v1/tasks').expect(401);
    await search(provider).expect(403);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await request(t.url).get('/openapi.json').expect(200)).body;
    const op = doc.paths['/api/v1/tasks'].get;
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      [
        'created_after',
        'created_before',
        'name_prefix',
        'page_size',
        'page_token',
        'site',
        'state',
        'submitter',
      ].sort(),
    );
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503']);
  });
});
