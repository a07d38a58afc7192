import {
  amqpForTests,
  startFakePulsarSite,
  type FakePulsarAmqp,
  type FakePulsarSite,
} from '@constellation/testing';
import { RequestBudget } from '../libs/dispatch/src/request-budget';
import { createPrincipal, TestPrincipal } from './support/principals';
import { pulsarRestSiteDocument, siteDocument } from './support/site-documents';
import { startAmqpDispatch, type AmqpDispatch } from './support/amqp-dispatch';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { allIn, createTasks, registerSite, registerSiteUp, startDispatchApp } from './support/dispatch-suite';

jest.setTimeout(120_000);

const amqp = amqpForTests();
const describeAmqp = amqp.skipReason === null ? describe : describe.skip;

/** The budget every replica is configured with: requests a second to one site. */
const PER_SECOND = 10;
/** How long the calls are counted. */
const WINDOW_MS = 4_000;
/**
 * Calls one budget allows in the window: a second's burst, the refill, and half a second's slack for a call
 * granted just before the window that reached the site inside it.
 */
const ONE_BUDGET = PER_SECOND * (WINDOW_MS / 1000 + 1.5);
/**
 * How long each wait for the tasks to reach a state may take. Every phase goes at the budget's pace, and `allIn`
 * waits for the tasks one after the other, so the first wait may take the whole phase: on a loaded 2-core machine
 * the first of the 60 resubmitted tasks took 11 s and then 17 s of the default 20 s to be RUNNING.
 */
const PHASE_MS = 60_000;

/** The times (Date.now()) at which a Pulsar site took status requests, over REST. */
const restStatusTimes = (site: FakePulsarSite) => (): number[] =>
  site
    .requests()
    .filter((r) => r.method === 'GET' && r.path.endsWith('/status'))
    .map((r) => r.at);

/** How many of `times` fall in the `ms` from `from`. */
const within = (times: number[], from: number, ms: number): number =>
  times.filter((at) => at >= from && at < from + ms).length;

/**
 * How many status requests the site takes during the window. Counted by the requests' own times: on a loaded
 * machine the timer that ends the window may fire seconds late, and the requests of those seconds are not the
 * window's.
 */
async function countedOver(times: () => number[]): Promise<number> {
  const from = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  return within(times(), from, WINDOW_MS);
}

/** Two replicas dispatching on one database, each with the budget of PER_SECOND requests a site. */
async function twoReplicas(env: Record<string, string> = {}): Promise<[TestApp, TestApp]> {
  const settings = { CONSTELLATION_SITE_REQUESTS_PER_SECOND: String(PER_SECOND), ...env };
  const first = await startDispatchApp(settings);
  try {
    return [first, await startDispatchApp(settings)];
  } catch (err) {
    await first.close();
    throw err;
  }
}

describe('the per-site request budget holds for the whole broker, not per replica', () => {
  let replicas: TestApp[] = [];
  let admin: TestPrincipal;
  let pulsar: FakePulsarSite;
  let slug: string;

  beforeAll(async () => {
    replicas = await twoReplicas();
    admin = await createPrincipal(replicas[0], 'admin');
    pulsar = await startFakePulsarSite({ token: 'shared-budget' });
    ({ slug } = await registerSiteUp(
      replicas[0],
      admin,
      admin,
      pulsarRestSiteDocument(pulsar.url, 'shared-budget', { capacity: { max_concurrent_tasks: 100 } }),
    ));
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await pulsar?.close();
  });

  it('two replicas send a Pulsar REST site with 60 running jobs at most one budget of status requests', async () => {
    const [t] = replicas;
    pulsar.hold();
    const ids = await createTasks(t, admin, slug, 60, ['true']);
    await allIn(t, admin, ids, 'RUNNING', PHASE_MS);
    const sent = await countedOver(restStatusTimes(pulsar));
    // Each job is due every 50 ms (1,200 requests a second wanted): only the budget holds the calls back.
    // A budget per replica would let through about twice ONE_BUDGET.
    expect(sent).toBeLessThanOrEqual(ONE_BUDGET);
    // The jobs are still asked about (at least half the budget: a loaded machine may run passes late).
    expect(sent).toBeGreaterThanOrEqual((PER_SECOND * WINDOW_MS) / 1000 / 2);
    pulsar.release();
    await allIn(t, admin, ids, 'COMPLETE', PHASE_MS);
  });

  it('cancelling 60 running jobs at once sends the site no more status requests than its budget', async () => {
    const [t] = replicas;
    pulsar.hold();
    const ids = await createTasks(t, admin, slug, 60, ['true']);
    await allIn(t, admin, ids, 'RUNNING', PHASE_MS);
    const started = Date.now();
    const client = tes(t.url, admin);
    await Promise.all(ids.map((id) => client.cancel(id).expect(200)));
    // Two seconds: the cancels alone would ask all 60 jobs' statuses in them, outside the budget.
    await new Promise((r) => setTimeout(r, 2_000 - (Date.now() - started)));
    expect(within(restStatusTimes(pulsar)(), started, 2_000)).toBeLessThanOrEqual(PER_SECOND * (2 + 1.5));
    // None is dropped: every cancel is made, at the budget's pace.
    await allIn(t, admin, ids, 'CANCELED', PHASE_MS);
    const cancels = pulsar.requests().filter((r) => r.method === 'PUT' && r.path.endsWith('/cancel'));
    expect(new Set(cancels.map((r) => r.path)).size).toBe(60);
    pulsar.release();
  });

  it('the look-ups of 60 resubmissions stay within the budget, and each job is still sent once', async () => {
    const [t] = replicas;
    pulsar.hold();
    // Every first send fails at setup: each task is sent again, and a resend first asks the job's status.
    pulsar.failNext(503, 60, { method: 'POST', path: '/jobs' });
    const statusGets = () =>
      pulsar.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/status')).length;
    const before = statusGets();
    const started = Date.now();
    const ids = await createTasks(t, admin, slug, 60, ['true']);
    await allIn(t, admin, ids, 'RUNNING', PHASE_MS);
    const elapsedS = (Date.now() - started) / 1000;
    // Outside the budget, the 60 look-ups would come on top of tracking's share.
    expect(statusGets() - before).toBeLessThanOrEqual(PER_SECOND * (elapsedS + 1.5));
    for (const id of ids) {
      const submits = pulsar
        .requests()
        .filter((r) => r.method === 'POST' && r.path === `/jobs/${id}-1/submit`);
      expect(submits).toHaveLength(1);
    }
    pulsar.release();
    await allIn(t, admin, ids, 'COMPLETE', PHASE_MS);
  });

  it('hands out no token twice and no turn twice when both replicas take at once', async () => {
    // A site of its own, pending: no tracking takes from its budget meanwhile.
    const { id: siteId } = await registerSite(replicas[0], admin, siteDocument());
    const budgets = replicas.map((r) => r.app.get(RequestBudget));
    const started = Date.now();
    const takes = await Promise.all(Array.from({ length: 20 }, (_, i) => budgets[i % 2].take(siteId, 5)));
    const elapsedS = (Date.now() - started) / 1000;
    const granted = takes.reduce((sum, take) => sum + take.granted, 0);
    expect(granted).toBeGreaterThanOrEqual(PER_SECOND);
    expect(granted).toBeLessThanOrEqual(PER_SECOND + Math.ceil(elapsedS * PER_SECOND));
    // Every request not granted got a turn of its own, one budget interval (100 ms) from any other.
    const turns = takes.flatMap((take) => take.turns.map((at) => at.getTime())).sort((a, b) => a - b);
    expect(turns.length).toBeGreaterThanOrEqual(100 - granted);
    for (let i = 1; i < turns.length; i++) expect(turns[i] - turns[i - 1]).toBeGreaterThanOrEqual(99);
  });
});

describeAmqp('AMQP reconciliation takes from the same per-site budget', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let pulsar: FakePulsarAmqp;
  let slug: string;
  let fixture: AmqpDispatch | undefined;

  beforeAll(async () => {
    fixture = await startAmqpDispatch(
      amqp.url,
      {
        CONSTELLATION_SITE_REQUESTS_PER_SECOND: String(PER_SECOND),
        // A job silent for a second is asked about: 40 silent jobs want 40 status requests a second.
        CONSTELLATION_AMQP_RECONCILE_SECONDS: '1',
        CONSTELLATION_LEASE_SECONDS: '10',
      },
      { capacity: { max_concurrent_tasks: 100 } },
    );
    ({ t, admin, pulsar, slug } = fixture);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('sends a site with 40 silent running jobs at most one budget of status requests', async () => {
    pulsar.hold();
    const ids = await createTasks(t, admin, slug, 40, ['true']);
    await allIn(t, admin, ids, 'RUNNING', PHASE_MS);
    const sent = await countedOver(() => pulsar.statusRequestTimes());
    expect(sent).toBeLessThanOrEqual(ONE_BUDGET);
    // Reconciliation goes on within the budget: the silent jobs are still asked about (at least half the
    // budget: a loaded machine may run the passes late, and the bound above is what this test is about).
    expect(sent).toBeGreaterThanOrEqual((PER_SECOND * WINDOW_MS) / 1000 / 2);
    pulsar.release();
    await allIn(t, admin, ids, 'COMPLETE', PHASE_MS);
  });

  it('cancelling 40 running jobs at once sends no more status requests than the budget', async () => {
    pulsar.hold();
    const ids = await createTasks(t, admin, slug, 40, ['true']);
    await allIn(t, admin, ids, 'RUNNING', PHASE_MS);
    const started = Date.now();
    const client = tes(t.url, admin);
    await Promise.all(ids.map((id) => client.cancel(id).expect(200)));
    // Each cancel sends a kill, then a status request: outside the budget, 40 of them at once.
    await new Promise((r) => setTimeout(r, 2_000 - (Date.now() - started)));
    expect(within(pulsar.statusRequestTimes(), started, 2_000)).toBeLessThanOrEqual(PER_SECOND * (2 + 1.5));
    await allIn(t, admin, ids, 'CANCELED', PHASE_MS);
    expect(new Set(pulsar.kills()).size).toBeGreaterThanOrEqual(40);
    pulsar.release();
  });
});
