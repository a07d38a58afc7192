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
import { TakeBackService } from './take-back.service';
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
    takenBack: 0,
  };

  function scheduler(fail: { value: boolean }, tracking?: () => Promise<number>) {
    const maybe = async <T>(v: T) => {
      if (fail.value) throw new Error('database unreachable');
      return v;
    };
    const metrics = new DispatchMetrics(
      { registry: new Registry() } as unknown as MetricsService,
      { query: async () => [] } as never,
      { summaries: async () => [] } as never,
      { placedBySite: async () => [], countByState: async () => [] } as never,
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
      { takeBackOverdue: () => maybe(0) } as unknown as TakeBackService,
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

  describe('news', () => {
    /**
     * A loop with rounds on (every 10 s, never reached here) whose placement places two of the `queued` tasks
     * a pass and whose submission sends one placed task a run; `moves` lists the calls in order.
     */
    function withNews(queued: number) {
      const moves: string[] = [];
      let left = queued;
      let placedNotSent = 0;
      const loop = new DispatchLoop(
        {
          placeQueued: async () => {
            const placed = Math.min(left, 2);
            left -= placed;
            placedNotSent += placed;
            moves.push(`place ${placed}`);
            return { placed, failed: 0, waiting: 0, ran: true, more: left > 0 };
          },
        } as unknown as PlacementService,
        {
          submitPlaced: async () => {
            const sent = Math.min(placedNotSent, 1);
            placedNotSent -= sent;
            moves.push(`submit ${sent}`);
            return sent;
          },
        } as unknown as SubmissionService,
        {} as TrackingService,
        {} as DeliveryService,
        {} as CancellationService,
        {} as AbandonedCopiesService,
        {} as TakeBackService,
        new SchedulerRegistry(),
        new DispatchMetrics(
          { registry: new Registry() } as unknown as MetricsService,
          { query: async () => [] } as never,
          { summaries: async () => [] } as never,
          { placedBySite: async () => [], countByState: async () => [] } as never,
        ),
        new DispatchNews(),
        { dispatchSeconds: 10 } as AppConfig,
      );
      return { loop, moves };
    }

    afterEach(() => jest.useRealTimers());

    it('turns a burst of arrivals into one placement pass, which wakes submission', async () => {
      jest.useFakeTimers();
      const { loop, moves } = withNews(1);
      for (let i = 0; i < 50; i++) loop.taskArrived();
      expect(moves).toEqual([]);
      await jest.runAllTimersAsync();
      expect(moves).toEqual(['place 1', 'submit 1', 'submit 0']);
    });

    it('goes on placing and submitting while work is left, without waiting for a round', async () => {
      jest.useFakeTimers();
      const { loop, moves } = withNews(5);
      loop.taskArrived();
      await jest.runAllTimersAsync();
      expect(moves.filter((m) => m.startsWith('place'))).toEqual(['place 2', 'place 2', 'place 1']);
      expect(moves.filter((m) => m === 'submit 1')).toHaveLength(5);
      expect(moves[moves.length - 1]).toBe('submit 0');
    });
  });
});
