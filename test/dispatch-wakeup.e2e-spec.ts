import { SchedulerRegistry } from '@nestjs/schedule';
import type { FakeTesSite } from '@constellation/testing';
import { registerFakeTesSite, startDispatchSuite, type DispatchSuite } from './support/dispatch-suite';
import { tes } from './support/tes-client';
import { waitFor } from './support/wait-for';

jest.setTimeout(180_000);

/**
 * Rounds as rare as the settings allow (60 s), and their timer stopped once the broker is up: whatever reaches
 * the site was set off by the creates themselves, however long a loaded machine takes over it.
 */
const ROUND_SECONDS = '60';
/** "At once": one task created on an idle broker is at the site, and COMPLETE, within seconds. */
const WITHIN_SECONDS_MS = 10_000;
/**
 * A burst takes a while on a loaded machine: 23 s of the 40 s this wait once had, when a round at the 60th
 * second bounded it. With no round to come it can wait longer.
 */
const BURST_MS = 120_000;
const BURST = 210;

describe('dispatch reacts to news: a new task does not wait for the next round', () => {
  let suite: DispatchSuite;
  let site: FakeTesSite;
  let slug: string;

  beforeAll(async () => {
    suite = await startDispatchSuite({
      CONSTELLATION_DISPATCH_SECONDS: ROUND_SECONDS,
      CONSTELLATION_TRACK_SECONDS: ROUND_SECONDS,
    });
    // Throws if the loop named its timer otherwise: the waits below are sound only with no round to come.
    suite.t.app.get(SchedulerRegistry).deleteInterval('dispatch');
    // Room for a whole burst at once: placement never holds tasks back for want of slots.
    ({ fake: site, slug } = await registerFakeTesSite(
      suite.t,
      suite.provider,
      suite.admin,
      {},
      { capacity: { max_concurrent_tasks: 1000, per_task: { cores: 4, memory_gib: 16 } } },
    ));
  });
  afterAll(async () => {
    await suite?.t.close();
    await site?.close();
  });

  /** Creates tasks pinned to the site, all at once; their ids. */
  async function create(count: number): Promise<string[]> {
    const bodies = await Promise.all(
      Array.from({ length: count }, () =>
        tes(suite.t.url, suite.alice)
          .create({ executors: [{ image: 'alpine', command: ['true'] }], resources: { zones: [slug] } })
          .expect(200),
      ),
    );
    return bodies.map((res) => res.body.id as string);
  }

  const atSite = (id: string) => site.tasks().some((task) => task.tags?.['constellation.task'] === id);

  it('places, submits and tracks a task created on an idle broker at once: it is COMPLETE within seconds', async () => {
    const [id] = await create(1);
    await waitFor('the task at the site', async () => (atSite(id) ? true : undefined), WITHIN_SECONDS_MS);
    // The first check follows the submission by half a second, not the 30 s tracking interval.
    const state = await waitFor(
      'the task COMPLETE',
      async () => {
        const { body } = await tes(suite.t.url, suite.alice).get(id);
        return body.state === 'COMPLETE' ? (body.state as string) : undefined;
      },
      WITHIN_SECONDS_MS,
    );
    expect(state).toBe('COMPLETE');
  });

  it('sends every task of a burst, beyond what one placement pass or submission run takes', async () => {
    // A placement pass takes 200 tasks of a submitter and a submission run 64: this needs more than one of each.
    const ids = await create(BURST);
    await waitFor(
      'every task of the burst at the site',
      async () => (ids.every(atSite) ? true : undefined),
      BURST_MS,
    );
    expect(ids.filter(atSite)).toHaveLength(BURST);
  });
});
