import { firstPace, nextPace, nextWalk, SITE_PACED_AT } from './track-pacing';

const now = new Date('2026-12-06T00:00:00Z');
const config = { trackSeconds: 5, amqpReconcileSeconds: 300 };

describe('track pacing', () => {
  it('checks first half a second after submission, or sooner when the track interval is shorter', () => {
    expect(firstPace(now, config)).toEqual({
      nextCheckAt: new Date(now.getTime() + 500),
      trackIntervalMs: 500,
    });
    expect(firstPace(now, { ...config, trackSeconds: 0.05 }).trackIntervalMs).toBe(50);
  });

  it.each([
    { name: 'first check of a polled site', mode: 'per-task', previous: null, changed: false, want: 500 },
    { name: 'doubles while nothing changes', mode: 'per-task', previous: 500, changed: false, want: 1000 },
    { name: 'doubles on a listed site too', mode: 'listed', previous: 2000, changed: false, want: 4000 },
    {
      name: 'stops at CONSTELLATION_TRACK_SECONDS',
      mode: 'per-task',
      previous: 4000,
      changed: false,
      want: 5000,
    },
    { name: 'stays there', mode: 'listed', previous: 5000, changed: false, want: 5000 },
    { name: 'starts again when the state moved', mode: 'per-task', previous: 5000, changed: true, want: 500 },
    { name: 'pushed sites only reconcile', mode: 'pushed', previous: 500, changed: true, want: 300_000 },
  ] as const)('$name', ({ mode, previous, changed, want }) => {
    const pace = nextPace(mode, previous, changed, now, config);
    const nextCheckAt = mode === 'listed' ? SITE_PACED_AT : new Date(now.getTime() + want);
    expect(pace).toEqual({ nextCheckAt, trackIntervalMs: want });
  });

  it("leaves a listed site's task to its site's walk, which backs off as a polled task does", () => {
    expect(nextPace('listed', null, true, now, config).nextCheckAt).toEqual(SITE_PACED_AT);
    expect(nextWalk(null, false, now, now, config)).toEqual(nextPace('per-task', null, false, now, config));
    expect(nextWalk(2000, false, now, now, config).trackIntervalMs).toBe(4000);
    expect(nextWalk(5000, true, now, now, config)).toEqual({
      nextCheckAt: new Date(now.getTime() + 500),
      trackIntervalMs: 500,
    });
  });

  it("counts a walk's interval from its start, and leaves at least half a second after its end", () => {
    const at = (ms: number) => new Date(now.getTime() + ms);
    // A walk of 600 ms at the 5 s cap: the next starts 5 s after this one started, not 5.6 s.
    expect(nextWalk(5000, false, now, at(600), config)).toEqual({
      nextCheckAt: at(5000),
      trackIntervalMs: 5000,
    });
    // A walk longer than its interval: the next comes 0.5 s after its end, not at once.
    expect(nextWalk(5000, false, now, at(7000), config)).toEqual({
      nextCheckAt: at(7500),
      trackIntervalMs: 5000,
    });
    expect(nextWalk(5000, true, now, at(700), config)).toEqual({
      nextCheckAt: at(1200),
      trackIntervalMs: 500,
    });
  });

  it('reconciles a pushed site no more often than the track interval', () => {
    const pace = nextPace('pushed', null, false, now, { trackSeconds: 600, amqpReconcileSeconds: 60 });
    expect(pace.trackIntervalMs).toBe(600_000);
  });
});
