import { SchedulerRegistry } from '@nestjs/schedule';
import { Registry } from 'prom-client';
import type { AppConfig } from '@constellation/config';
import { MetricsService } from '@constellation/observability';
import { AbandonedCopiesService } from './abandoned-copies.service';
import { CancellationService } from './cancellation.service';
import { DeliveryService } from './delivery.service';
import { DispatchMetrics } from './dispatch.metrics';
import { DispatchNews } from './dispatch-news';
import { DispatchLoop } from './dispatch.loop';
import { PlacementService } from './placement.service';
import { SubmissionService } from './submission.service';
import { TrackingService } from './tracking.service';

describe('DispatchLoop', () => {
  /** What a round reports when every step answers as the stubs below do. */
  const GOOD_ROUND = {
    placed: 1,
    failed: 0,
    submitted: 1,
    tracked: 2,
    deliveries: 4,
    canceled: 0,
    copies: 3,
  };

  function scheduler(fail: { value: boolean }, tracking?: () => Promise<number>) {
    const maybe = async <T>(v: T) => {
      if (fail.value) throw new Error('database unreachable');
      return v;
    };
    const metrics = new DispatchMetrics(
      { registry: new Registry() } as unknown as MetricsService,
      { query: async () => [] } as never,
    );
    const s = new DispatchLoop(
      {
        placeQueued: () => maybe({ placed: 1, failed: 0, waiting: 0, ran: true, more: false }),
      } as unknown as PlacementService,
      { submitPlaced: () => maybe(1) } as unknown as SubmissionService,
      { trackSubmitted: tracking ?? (() => maybe(2)) } as unknown as TrackingService,
      { startDue: () => maybe(4) } as unknown as DeliveryService,
      { cancelRequested: () => maybe(0) } as unknown as CancellationService,
      { stopAbandoned: () => maybe(3) } as unknown as AbandonedCopiesService,
      new SchedulerRegistry(),
      metrics,
      new DispatchNews(),
      { dispatchSeconds: 0 } as AppConfig,
    );
    // Keep the failures out of the test output.
    (s as unknown as { logger: { error: () => void } }).logger = { error: () => undefined };
    return s;
  }

  it('reports what one round did', async () => {
    const s = scheduler({ value: false });
    expect(await s.tick()).toEqual(GOOD_ROUND);
    expect(s.due()).toBe(true);
  });

  it('backs off while every step fails, doubling up to 30 s, and resumes after a good round', async () => {
    const fail = { value: true };
    const s = scheduler(fail);
    const t0 = Date.now();
    await s.tick();
    expect(s.due(t0)).toBe(false);
    expect(s.due(t0 + 2100)).toBe(true);
    await s.tick();
    expect(s.due(Date.now() + 3000)).toBe(false);
    for (let i = 0; i < 10; i++) await s.tick();
    expect(s.due(Date.now() + 29_000)).toBe(false);
    expect(s.due(Date.now() + 30_100)).toBe(true);
    fail.value = false;
    await s.tick();
    expect(s.due()).toBe(true);
  });

  it('starts placement and submission every round while a slow tracking run is still going, and joins that run', async () => {
    let release: () => void = () => undefined;
    let trackingRuns = 0;
    const s = scheduler({ value: false }, () => {
      trackingRuns++;
      return new Promise((resolve) => {
        release = () => resolve(2);
      });
    });
    const placements = jest.spyOn((s as unknown as { placement: PlacementService }).placement, 'placeQueued');
    const first = s.tick();
    await new Promise((r) => setImmediate(r));
    const second = s.tick();
    await new Promise((r) => setImmediate(r));
    expect(placements).toHaveBeenCalledTimes(2);
    expect(trackingRuns).toBe(1);
    release();
    expect(await first).toEqual(GOOD_ROUND);
    expect((await second).tracked).toBe(2);
    // Once it has ended, the next round starts tracking again.
    const third = s.tick();
    await new Promise((r) => setImmediate(r));
    expect(trackingRuns).toBe(2);
    release();
    await third;
  });
});
