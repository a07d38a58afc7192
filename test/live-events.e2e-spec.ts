import request from 'supertest';
import { DataSource } from 'typeorm';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { dataOf, openSse, SseEvent, SseStream } from './support/sse-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

const TASK = { executors: [{ image: 'alpine', command: ['true'] }] };
const isTask = (id: string, to?: string) => (e: SseEvent) =>
  e.event === 'task' && dataOf(e).task_id === id && (to === undefined || dataOf(e).to === to);

describe('live events (GET /api/v1/events/stream)', () => {
  // Two replicas on one database, as in production.
  let a: TestApp;
  let b: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  const open: SseStream[] = [];

  beforeAll(async () => {
    a = await startTestApp({
      CONSTELLATION_PROBE_SECONDS: '0',
      CONSTELLATION_EVENT_HEARTBEAT_SECONDS: '0.2',
      CONSTELLATION_EVENT_STREAMS_PER_PRINCIPAL: '2',
    });
    b = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(a, 'admin');
    alice = await createPrincipal(a, 'submitter');
    bob = await createPrincipal(a, 'submitter');
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const stream = async (app: TestApp, who: TestPrincipal, query = '') => {
    const s = await openSse(`${app.url}/api/v1/events/stream${query}`, who.bearer);
    open.push(s);
    return s;
  };
  const ready = async (s: SseStream) => {
    expect(s.status).toBe(200);
    await s.next('ready', (e) => e.event === 'ready');
    return s;
  };
  const createTask = async (app: TestApp, who: TestPrincipal) =>
    (
      await request(app.url)
        .post('/ga4gh/tes/v1/tasks')
        .set('Authorization', who.bearer)
        .send(TASK)
        .expect(200)
    ).body.id as string;

  it('streams a task state change to its submitter, as text/event-stream after a ready event', async () => {
    const s = await ready(await stream(a, alice));
    expect(s.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(s.frames[0]).toEqual({ event: 'retry', data: '' });
    const id = await createTask(a, alice);
    const created = await s.next('the QUEUED event', isTask(id, 'QUEUED'));
    expect(dataOf(created)).toMatchObject({
      type: 'task',
      task_id: id,
      submitter_id: alice.id,
      kind: 'state',
      from: null,
      to: 'QUEUED',
      site_id: null,
      attempt: 0,
    });
    await request(a.url)
      .post(`/ga4gh/tes/v1/tasks/${id}:cancel`)
      .set('Authorization', alice.bearer)
      .expect(200);
    await s.next('the CANCELED event', isTask(id, 'CANCELED'));
    const changes = s.frames.filter(isTask(id)).map((e) => [dataOf(e).from, dataOf(e).to]);
    expect(changes).toEqual([
      [null, 'QUEUED'],
      ['QUEUED', 'CANCELING'],
      ['CANCELING', 'CANCELED'],
    ]);
  });

  it("never sends one submitter's task to another; admins see every task", async () => {
    const bobs = await ready(await stream(a, bob));
    const admins = await ready(await stream(a, admin));
    const alices = await createTask(a, alice);
    const own = await createTask(a, bob);
    await admins.next("alice's task", isTask(alices));
    await admins.next("bob's task", isTask(own));
    await bobs.next("bob's own task", isTask(own));
    expect(bobs.frames.filter((e) => e.event === 'task').map((e) => dataOf(e).task_id)).toEqual([own]);
  });

  it('follows one task with ?task=', async () => {
    const first = await createTask(a, alice);
    const s = await ready(await stream(a, alice, `?task=${first}`));
    const other = await createTask(a, alice);
    await request(a.url)
      .post(`/ga4gh/tes/v1/tasks/${first}:cancel`)
      .set('Authorization', alice.bearer)
      .expect(200);
    await s.next('the followed task', isTask(first, 'CANCELED'));
    expect(s.frames.some(isTask(other))).toBe(false);
  });

  it('carries changes made on another replica, tasks and sites alike', async () => {
    const s = await ready(await stream(b, admin));
    const id = await createTask(a, alice);
    await s.next('a task created through replica a', isTask(id, 'QUEUED'));
    const provider = await createPrincipal(a, 'provider');
    const site = await request(a.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    await s.next('the new site', (e) => e.event === 'site' && dataOf(e).site_id === site.body.id);
    await request(a.url)
      .post(`/api/v1/sites/${site.body.id}/approve`)
      .set('Authorization', admin.bearer)
      .expect(200);
    const approved = await s.next(
      'the approval',
      (e) => e.event === 'site' && dataOf(e).site_id === site.body.id && dataOf(e).admin_state === 'active',
    );
    expect(dataOf(approved)).toMatchObject({
      type: 'site',
      slug: site.body.slug,
      health: 'unknown',
      running: 0,
      queued: 0,
      max_concurrent_tasks: site.body.capacity.max_concurrent_tasks,
    });
    // Load and health, as probes write them; a write that changes none of them announces nothing.
    const db = a.app.get(DataSource);
    await db.query(`UPDATE site SET running_tasks = 3, health = 'up' WHERE id = $1`, [site.body.id]);
    await s.next('the load change', (e) => e.event === 'site' && dataOf(e).running === 3);
    const before = s.frames.length;
    await db.query(`UPDATE site SET display_name = 'renamed' WHERE id = $1`, [site.body.id]);
    const marker = await createTask(a, alice);
    await s.next('a later task', isTask(marker), before);
    expect(s.frames.slice(before).filter((e) => e.event === 'site')).toEqual([]);
  });

  it('filters by type', async () => {
    const s = await ready(await stream(a, admin, '?types=task'));
    await a.app.get(DataSource).query(`UPDATE site SET queued_tasks = queued_tasks + 1`);
    const id = await createTask(a, alice);
    await s.next('the task', isTask(id));
    // A read of the feed passes between the change of the sites and the creation: nothing about sites came.
    const more = await createTask(a, alice);
    await s.next('a later task', isTask(more));
    expect(s.frames.filter((e) => e.event !== ':').map((e) => e.event)).toEqual([
      'retry',
      'ready',
      'task',
      'task',
    ]);
  });

  it('sends a task event once, even when its writer stamped it long before it wrote it', async () => {
    const s = await ready(await stream(a, admin));
    const id = await createTask(a, alice);
    await s.next('the creation', isTask(id, 'QUEUED'));
    // As a dispatch round does, stamping its events with the time it started.
    await a.app.get(DataSource).query(
      `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, attempt, reason, kind)
         VALUES (gen_random_uuid(), $1, now() - interval '1 minute', 'QUEUED', 'INITIALIZING', 1, 'test', 'state')`,
      [id],
    );
    await s.next('the late-stamped event', isTask(id, 'INITIALIZING'));
    const marker = await createTask(a, alice);
    await s.next('a later task', isTask(marker));
    expect(s.frames.filter(isTask(id)).map((e) => dataOf(e).to)).toEqual(['QUEUED', 'INITIALIZING']);
  });

  it('sends heartbeats while idle', async () => {
    const s = await ready(await stream(a, alice, '?types=site'));
    await s.next('two heartbeats', () => s.frames.filter((e) => e.event === ':').length >= 2);
  });

  it('limits the streams one principal holds, and frees a slot when a stream closes', async () => {
    const one = await ready(await stream(a, bob));
    await ready(await stream(a, bob));
    const third = await fetch(`${a.url}/api/v1/events/stream`, { headers: { Authorization: bob.bearer } });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'RATE_LIMITED' });
    one.close();
    await waitFor('a free slot', async () => {
      const s = await openSse(`${a.url}/api/v1/events/stream`, bob.bearer);
      open.push(s);
      return s.status === 200 ? s : undefined;
    });
  });

  it('ends a stream after its maximum lifetime', async () => {
    const c = await startTestApp({
      CONSTELLATION_PROBE_SECONDS: '0',
      CONSTELLATION_EVENT_STREAM_MAX_SECONDS: '1',
    });
    try {
      const s = await ready(await stream(c, alice));
      const started = Date.now();
      await s.ended;
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await c.close();
    }
  });

  it('refuses bad parameters with a 400 naming each, and a missing token with a 401', async () => {
    const res = await request(a.url)
      .get('/api/v1/events/stream?types=task,jobs&task=42&since=now')
      .set('Authorization', alice.bearer)
      .expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toEqual([
      { path: 'since', reason: 'is not a parameter of the event stream' },
      { path: 'types', reason: 'must be a comma-separated list of task, site' },
      { path: 'task', reason: 'must be a UUID' },
    ]);
    await request(a.url).get('/api/v1/events/stream').expect(401);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await request(a.url).get('/openapi.json').expect(200)).body;
    const op = doc.paths['/api/v1/events/stream'].get;
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/event-stream']);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503']);
  });

  it('ends every stream cleanly when the broker stops', async () => {
    const c = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    const s = await openSse(`${c.url}/api/v1/events/stream`, alice.bearer);
    await ready(s);
    await c.close();
    await s.ended;
  });
});
