import request from 'supertest';
import { DataSource } from 'typeorm';
import { FakePulsarSite, startFakePulsarSite } from '@constellation/testing';
import { startFakeTesSite, FakeTesSite, FakeTesTask } from '@constellation/testing';
import type { TestPrincipal } from './support/principals';
import { onHostPulsarSiteDocument, tesSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { startDispatchSuite, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';
import { taskEvents, type TaskEvent } from './support/task-events';

jest.setTimeout(90_000);

/**
 * One live copy per task (docs/dispatch.md, "One live copy per task"): copies a task leaves at a site are
 * stopped when the site answers again, and a submission whose answer never came is not sent twice.
 */
describe('one live copy per task', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let alice: TestPrincipal;
  const fakes: (FakeTesSite | FakePulsarSite)[] = [];

  beforeAll(async () => {
    ({ t, admin, provider, alice } = await startDispatchSuite({ CONSTELLATION_SUBMIT_DOUBT_SECONDS: '10' }));
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function site(
    slug: string,
    options: Parameters<typeof startFakeTesSite>[0] = {},
  ): Promise<{ fake: FakeTesSite; id: string; slug: string; token: string }> {
    const token = `site-token-${Math.random().toString(36).slice(2)}`;
    const fake = await startFakeTesSite({ requireToken: token, ...options });
    fakes.push(fake);
    const { id } = await registerSiteUp(
      t,
      provider,
      admin,
      tesSiteDocument(fake.url, token, {
        slug,
        capacity: { max_concurrent_tasks: 20, per_task: { cores: 16, memory_gib: 64 } },
      }),
    );
    return { fake, id, slug, token };
  }

  const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const task = (zones: string[], command: string[]) => ({
    executors: [{ image: 'alpine', command }],
    resources: { zones },
  });
  const copiesOf = (fake: FakeTesSite, id: string): FakeTesTask[] =>
    fake.tasks().filter((r) => r.tags?.['constellation.task'] === id);
  const events = (id: string): Promise<TaskEvent[]> => taskEvents(t.url, admin, id);

  it('stops the copies a dead site comes back with, and reports one that ran to its end anyway', async () => {
    const aSlug = unique('dies');
    const bSlug = unique('spare');
    // At site A a second of `sleep` takes a second; at B a thousandth.
    const a = await site(aSlug, { timeScale: 1 });
    const client = tes(t.url, alice);
    const long = (await client.create(task([aSlug, bSlug], ['sleep', '600'])).expect(200)).body.id as string;
    const short = (await client.create(task([aSlug, bSlug], ['sleep', '4'])).expect(200)).body.id as string;
    const canceled = (await client.create(task([aSlug], ['sleep', '600'])).expect(200)).body.id as string;
    for (const id of [long, short, canceled]) await untilState(client, id, 'RUNNING', `${id} running at A`);
    const b = await site(bSlug, { timeScale: 0.001 });

    await a.fake.down();
    // Cancelled while its site is unreachable: the broker cannot stop the copy now.
    await client.cancel(canceled).expect(200);
    expect((await untilFinished(client, long)).state).toBe('COMPLETE');
    expect((await untilFinished(client, short)).state).toBe('COMPLETE');
    expect((await untilFinished(client, canceled)).state).toBe('CANCELED');
    expect(copiesOf(b.fake, long)).toHaveLength(1);
    // Meanwhile at A, unseen, the short copy ran to its end; the others still run.
    await waitFor('the short copy to end at A', async () =>
      copiesOf(a.fake, short)[0]?.state === 'COMPLETE' ? true : undefined,
    );
    expect(copiesOf(a.fake, long)[0].state).toBe('RUNNING');
    expect(copiesOf(a.fake, canceled)[0].state).toBe('RUNNING');

    await a.fake.up();
    await waitFor('the copies left at A to be stopped', async () =>
      copiesOf(a.fake, long)[0].state === 'CANCELED' && copiesOf(a.fake, canceled)[0].state === 'CANCELED'
        ? true
        : undefined,
    );
    const cancels = a.fake.requests().filter((r) => r.method === 'POST' && r.path.endsWith(':cancel'));
    expect(cancels.map((r) => r.path).sort()).toEqual(
      [copiesOf(a.fake, long)[0].id, copiesOf(a.fake, canceled)[0].id]
        .map((id) => `/ga4gh/tes/v1/tasks/${id}:cancel`)
        .sort(),
    );

    const stopped = await waitFor('the stop recorded on the task', async () => {
      const e = (await events(long)).find((x) => x.kind === 'copy');
      return e;
    });
    expect(stopped).toMatchObject({ site_id: a.id, attempt: 1, from: 'COMPLETE', to: 'COMPLETE' });
    expect(stopped.reason).toContain(
      `stopped the copy ${copiesOf(a.fake, long)[0].id} of attempt 1 at ${aSlug}`,
    );
    expect(stopped.reason).toContain('is offline');
    const ranAnyway = await waitFor('the copy that ran to its end recorded', async () =>
      (await events(short)).find((x) => x.kind === 'copy'),
    );
    expect(ranAnyway.reason).toMatch(/ran to its end anyway \(COMPLETE\).*its outcome was ignored/);

    // What the user saw stands: the rerun's outcome, with the copy's fate in the first attempt's logs.
    const full = await untilFinished(client, long);
    expect(full.state).toBe('COMPLETE');
    expect(full.logs).toHaveLength(2);
    expect(full.logs[0].system_logs.join('\n')).toContain('stopped the copy');
    expect((await untilFinished(client, short)).state).toBe('COMPLETE');
    expect((await untilFinished(client, canceled)).state).toBe('CANCELED');
    expect((await events(canceled)).some((e) => e.kind === 'copy' && e.reason.includes('stopped'))).toBe(
      true,
    );
    // Nothing of these tasks is left to stop. (The metric counts every suite's copies in the shared test
    // database, some at sites those suites left offline, so this asks about these tasks' rows.)
    await waitFor('no copy left to stop', async () => {
      const [{ n }] = await t.app
        .get(DataSource)
        .query(`SELECT count(*)::int AS n FROM abandoned_copy WHERE task_id = ANY($1::uuid[])`, [
          [long, short, canceled],
        ]);
      return n === 0 ? true : undefined;
    });
    const metrics = await request(t.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^constellation_abandoned_copies_pending \d+$/m);
  });

  it('kills and cleans the job a dead Pulsar site comes back with', async () => {
    const aSlug = unique('pulsar-dies');
    const bSlug = unique('pulsar-spare');
    const pulsar = await startFakePulsarSite({ token: 'pulsar-token', timeScale: 1 });
    fakes.push(pulsar);
    const a = await registerSiteUp(
      t,
      provider,
      admin,
      onHostPulsarSiteDocument({
        slug: aSlug,
        kind: 'pulsar-rest',
        url: pulsar.url,
        credentials: { token: 'pulsar-token' },
      }),
    );
    const client = tes(t.url, alice);
    const id = (await client.create(task([aSlug, bSlug], ['sleep', '600'])).expect(200)).body.id as string;
    await untilState(client, id, 'RUNNING', 'the task running at the Pulsar site');
    const jobId = (await client.get(id, 'FULL')).body.logs[0].metadata.remote_id as string;
    await site(bSlug, { timeScale: 0.001 });
    await pulsar.down();
    expect((await untilFinished(client, id)).state).toBe('COMPLETE');
    expect(pulsar.job(jobId)?.status).toBe('running');

    await pulsar.up();
    await waitFor('the job left at the Pulsar site to be killed and cleaned', async () => {
      const calls = pulsar.requests().map((r) => `${r.method} ${r.path}`);
      return calls.includes(`PUT /jobs/${jobId}/cancel`) && calls.includes(`DELETE /jobs/${jobId}`)
        ? true
        : undefined;
    });
    const note = await waitFor('the stop recorded on the task', async () =>
      (await events(id)).find((e) => e.kind === 'copy'),
    );
    expect(note).toMatchObject({ site_id: a.id, attempt: 1 });
    expect(note.reason).toContain(`stopped the copy ${jobId} of attempt 1 at ${aSlug}`);
    expect((await untilFinished(client, id)).state).toBe('COMPLETE');
  });

  it('sends a task once to a site that answers creates after the submission timed out', async () => {
    const slow = await site(unique('slow'));
    // Longer than the 2.5 s each exchange may take: every create times out, and lands all the same.
    slow.fake.slowCreates(4000);
    const client = tes(t.url, alice);
    const id = (await client.create(task([slow.slug], ['echo', 'once'])).expect(200)).body.id as string;
    const done = await untilFinished(client, id);
    expect(done.state).toBe('COMPLETE');
    expect(done.logs[0].logs[0].stdout).toBe('once\n');
    const posts = slow.fake.requests().filter((r) => r.method === 'POST' && r.path === '/ga4gh/tes/v1/tasks');
    expect(posts).toHaveLength(1);
    expect(copiesOf(slow.fake, id)).toHaveLength(1);
    expect(done.logs[0].metadata.remote_id).toBe(copiesOf(slow.fake, id)[0].id);
  });

  /** A task sent once to a slow site, and a second copy of its attempt made there, as a duplicated send would. */
  async function twoCopies(s: Awaited<ReturnType<typeof site>>): Promise<string> {
    s.fake.slowCreates(3000);
    const client = tes(t.url, alice);
    const id = (await client.create(task([s.slug], ['echo', 'one'])).expect(200)).body.id as string;
    await waitFor('the broker to send the task', async () =>
      s.fake.requests().some((r) => r.method === 'POST' && r.path === '/ga4gh/tes/v1/tasks')
        ? true
        : undefined,
    );
    // The look-ups after the send timed out fail until both copies exist at the site.
    s.fake.failNext(503, 100_000, { method: 'GET', path: '/tasks' });
    await request(s.fake.apiUrl)
      .post('/tasks')
      .set('Authorization', `Bearer ${s.token}`)
      .send({
        executors: [{ image: 'alpine', command: ['sleep', '600'] }],
        tags: { 'constellation.task': id, 'constellation.attempt': '1' },
      })
      .expect(200);
    await waitFor('both copies at the site', async () =>
      copiesOf(s.fake, id).length === 2 ? true : undefined,
    );
    s.fake.clearFailures();
    return id;
  }

  it('keeps one of two copies of one attempt and stops the other at once', async () => {
    const s = await site(unique('twice'));
    const client = tes(t.url, alice);
    const id = await twoCopies(s);

    const done = await untilFinished(client, id);
    expect(done.state).toBe('COMPLETE');
    await waitFor('the extra copy stopped', async () =>
      copiesOf(s.fake, id).some((c) => c.state === 'CANCELED') ? true : undefined,
    );
    const [kept, extra] = [...copiesOf(s.fake, id)].sort((x, y) =>
      x.state === 'CANCELED' ? 1 : y.state === 'CANCELED' ? -1 : 0,
    );
    expect(kept.state).toBe('COMPLETE');
    expect(extra.state).toBe('CANCELED');
    expect(done.logs[0].metadata.remote_id).toBe(kept.id);
    const note = (await events(id)).find((e) => e.kind === 'copy');
    expect(note?.reason).toContain(`stopped an extra copy ${extra.id} of attempt 1`);
  });

  it('stops an extra copy later, through the abandoned-copies step, when the site refused to stop it at once', async () => {
    const s = await site(unique('refused'));
    const client = tes(t.url, alice);
    const id = await twoCopies(s);
    // The first stop is refused: the copy must not be forgotten, left to run at the site.
    s.fake.failNext(503, 1, { method: 'POST', path: ':cancel' });
    expect((await untilFinished(client, id)).state).toBe('COMPLETE');
    await waitFor('the extra copy stopped by the abandoned-copies step', async () =>
      copiesOf(s.fake, id).some((c) => c.state === 'CANCELED') ? true : undefined,
    );
    const states = copiesOf(s.fake, id)
      .map((c) => c.state)
      .sort();
    expect(states).toEqual(['CANCELED', 'COMPLETE']);
    const cancels = s.fake.requests().filter((r) => r.method === 'POST' && r.path.endsWith(':cancel'));
    expect(cancels.length).toBeGreaterThanOrEqual(2);
  });
});
