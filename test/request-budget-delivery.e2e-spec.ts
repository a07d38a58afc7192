import { tes } from './support/tes-client';
import { PulsarRestFixture, startPulsarRestFixture } from './support/pulsar-rest-fixture';
import { untilFinished } from './support/dispatch-suite';

jest.setTimeout(90_000);

/** One status request every 5 s: a bucket of one token, refilled 5 s after it was spent. */
const PER_SECOND = 0.2;

// Delivery on a Pulsar REST site reads the job's status before it downloads: that request takes from the site's
// budget like tracking's, and a delivery the budget holds back waits for its turn without spending a try.
describe('a Pulsar REST delivery within the request budget', () => {
  let f: PulsarRestFixture;

  beforeAll(async () => {
    f = await startPulsarRestFixture({
      env: { CONSTELLATION_SITE_REQUESTS_PER_SECOND: String(PER_SECOND) },
      token: 'budget-delivery',
      store: { requireLength: true },
    });
  });
  afterAll(() => f?.close());

  it('reads the status for delivery one budget interval after tracking did, and spends no delivery try', async () => {
    const statusGets = () =>
      f.pulsar.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/status')).length;
    // When each status request reached the site, sampled every 20 ms.
    const times: number[] = [];
    let seen = statusGets();
    const sampler = setInterval(() => {
      for (const n = statusGets(); seen < n; seen++) times.push(Date.now());
    }, 20);
    try {
      const { body } = await tes(f.t.url, f.alice)
        .create({
          outputs: [{ path: '/out/r.txt', url: `${f.store.url}/results/budget.txt`, type: 'FILE' }],
          executors: [{ image: 'alpine', command: ['sh', '-c', 'echo budget > /out/r.txt'] }],
          resources: { zones: [f.slug] },
        })
        .expect(200);
      const task = await untilFinished(tes(f.t.url, f.alice), body.id, 'the task delivered');
      expect(task.state).toBe('COMPLETE');
      expect(f.store.received.get('/results/budget.txt')).toBe('budget\n');
      // Held back, not failed: no delivery try was spent, and the job ran once.
      expect(task.logs[0].system_logs.filter((l: string) => l.startsWith('delivery try'))).toEqual([]);
      const submits = f.pulsar
        .requests()
        .filter((r) => r.method === 'POST' && r.path === `/jobs/${body.id}-1/submit`);
      expect(submits).toHaveLength(1);
    } finally {
      clearInterval(sampler);
    }
    // Tracking's check and delivery's read at least: each a token of its own, one interval apart (less the
    // sampling's and the clocks' slack).
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < times.length; i++) {
      expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1000 / PER_SECOND - 300);
    }
  });
});
