import request from 'supertest';
import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { createPrincipal, type TestPrincipal } from './principals';
import { siteDocument } from './site-documents';
import { tes } from './tes-client';
import { startTestApp, type TestApp } from './test-app';
import { waitFor } from './wait-for';

type TesClient = ReturnType<typeof tes>;

/** What the suites read of a finished task's FULL view. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FinishedTask = any;

/** TES states a task does not leave. */
export const FINAL_STATES = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'];

/**
 * Suites before a dispatch suite leave unfinished tasks in the run's database; they must not land on the
 * sites the suite registers, so they are ended here.
 */
export async function endLeftoverTasks(t: TestApp): Promise<void> {
  await t.app
    .get(DataSource)
    .query(`UPDATE task SET state = 'CANCELED' WHERE state <> ALL($1::text[])`, [FINAL_STATES]);
}

/** Polls the task (MINIMAL) until it is in `state` (for at most `timeoutMs`, waitFor's default unless given). */
export async function untilState(
  client: TesClient,
  id: string,
  state: string,
  what = state,
  timeoutMs?: number,
): Promise<void> {
  await waitFor(
    what,
    async () => ((await client.get(id)).body.state === state ? true : undefined),
    timeoutMs,
  );
}

/** Creates `count` tasks pinned to the site (its slug as their zone), each running `command`; their ids. */
export async function createTasks(
  t: TestApp,
  who: TestPrincipal,
  slug: string,
  count: number,
  command: string[],
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { body } = await tes(t.url, who)
      .create({ executors: [{ image: 'alpine', command }], resources: { zones: [slug] } })
      .expect(200);
    ids.push(body.id as string);
  }
  return ids;
}

/**
 * Waits until every task shows `state` through the TES API, one task after the other: the first wait may take
 * the whole time the tasks take together, and each has at most `timeoutMs` (waitFor's default unless given).
 */
export async function allIn(
  t: TestApp,
  who: TestPrincipal,
  ids: string[],
  state: string,
  timeoutMs?: number,
): Promise<void> {
  for (const id of ids) await untilState(tes(t.url, who), id, state, `task ${id} ${state}`, timeoutMs);
}

/** Polls the task until it is final (for at most `timeoutMs`, waitFor's default unless given); its FULL view. */
export function untilFinished<T = FinishedTask>(
  client: TesClient,
  id: string,
  what = 'the task to finish',
  timeoutMs?: number,
): Promise<T> {
  return waitFor(
    what,
    async () => {
      const res = await client.get(id, 'FULL');
      return FINAL_STATES.includes(res.body.state) ? (res.body as T) : undefined;
    },
    timeoutMs,
  );
}

/** Registers a site as `owner`: it waits, pending, for an admin. Its id and slug. */
export async function registerSite(
  t: TestApp,
  owner: TestPrincipal,
  document: Record<string, unknown> = siteDocument(),
): Promise<{ id: string; slug: string }> {
  const res = await request(t.url)
    .post('/api/v1/sites')
    .set('Authorization', owner.bearer)
    .send(document)
    .expect(201);
  return res.body as { id: string; slug: string };
}

/** Registers a site (as `owner`), approves it (as `admin`) and waits until its probes find it up. */
export async function registerSiteUp(
  t: TestApp,
  owner: TestPrincipal,
  admin: TestPrincipal,
  document: Record<string, unknown>,
): Promise<{ id: string; slug: string }> {
  const { id, slug } = await registerSite(t, owner, document);
  await request(t.url).post(`/api/v1/sites/${id}/approve`).set('Authorization', admin.bearer).expect(200);
  await waitFor(`site ${slug} up`, async () => {
    const s = await request(t.url).get(`/api/v1/sites/${id}`).set('Authorization', admin.bearer);
    return s.body.health === 'up' ? true : undefined;
  });
  return { id, slug };
}

/** The settings of the dispatch suites: rounds every 50 ms, probes every second, a dead site offline in two. */
export const FAST_DISPATCH: Record<string, string> = {
  CONSTELLATION_DISPATCH_SECONDS: '0.05',
  CONSTELLATION_TRACK_SECONDS: '0.05',
  CONSTELLATION_PROBE_SECONDS: '1',
  CONSTELLATION_PROBE_FAILURES: '2',
  // Each exchange with a site is bounded by half a lease: 2.5 s here.
  CONSTELLATION_LEASE_SECONDS: '5',
};

/** The real application with dispatch on at FAST_DISPATCH (overridden by `env`), no leftover tasks. */
export async function startDispatchApp(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await startTestApp({ ...FAST_DISPATCH, ...env });
  await endLeftoverTasks(t);
  return t;
}

/**
 * A fake TES site (token-protected) registered by `provider`, approved by `admin` and seen up by the probes;
 * its slug doubles as a zone. `doc` overrides the site document.
 */
export async function registerFakeTesSite(
  t: TestApp,
  provider: TestPrincipal,
  admin: TestPrincipal,
  options: Parameters<typeof startFakeTesSite>[0] = {},
  doc: Record<string, unknown> = {},
): Promise<{ fake: FakeTesSite; id: string; slug: string }> {
  const token = `site-token-${Math.random().toString(36).slice(2)}`;
  const fake = await startFakeTesSite({ requireToken: token, ...options });
  try {
    const document = siteDocument({
      kind: 'tes',
      url: fake.url,
      pulsar_manager: null,
      credentials: { token },
      capacity: { max_concurrent_tasks: 20, per_task: { cores: 4, memory_gib: 16 } },
      ...doc,
    });
    return { fake, ...(await registerSiteUp(t, provider, admin, document)) };
  } catch (err) {
    await fake.close();
    throw err;
  }
}

/** A dispatch suite's application with the principals its cases act as. */
export interface DispatchSuite {
  t: TestApp;
  admin: TestPrincipal;
  provider: TestPrincipal;
  alice: TestPrincipal;
}

/** startDispatchApp, then an admin, a site provider and a submitter (alice). */
export async function startDispatchSuite(env: Record<string, string> = {}): Promise<DispatchSuite> {
  const t = await startDispatchApp(env);
  return {
    t,
    admin: await createPrincipal(t, 'admin'),
    provider: await createPrincipal(t, 'provider'),
    alice: await createPrincipal(t, 'submitter'),
  };
}
