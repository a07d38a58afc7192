import { DEFAULT_ESTIMATOR_PARAMS, RunTimeEstimator } from './run-time-estimator';

const GB = 1e9;

/** Runs of `tool` at `site`: each `runS` seconds on `bytes` of input, one a minute from `from`. */
function feed(
  e: RunTimeEstimator,
  runs: Array<{ tool?: string; site: string; runS: number; bytes?: number; queueS?: number }>,
  from = 0,
): void {
  runs.forEach((r, i) =>
    e.observe({
      tool: r.tool,
      toolLabel: r.tool,
      siteId: r.site,
      inputBytes: r.bytes ?? GB,
      cores: 1,
      runS: r.runS,
      queueS: r.queueS,
      at: from + i * 60,
    }),
  );
}

const times = (n: number, f: (i: number) => { tool?: string; site: string; runS: number; bytes?: number }) =>
  Array.from({ length: n }, (_, i) => f(i));

describe('RunTimeEstimator', () => {
  it.each<[string, number, number | undefined]>([
    ['no runs', 0, undefined],
    ['two runs (below minRuns)', 2, undefined],
    ['three runs', 3, 100],
    ['thirty runs', 30, 100],
  ])('tool estimate after %s', (_name, n, expected) => {
    const e = new RunTimeEstimator();
    feed(
      e,
      times(n, () => ({ tool: 'bwa', site: 'a', runS: 100 })),
    );
    const est = e.toolEstimate('bwa', GB, n * 60);
    if (expected === undefined) expect(est).toBeUndefined();
    else expect(est?.medianS).toBeCloseTo(expected, 6);
  });

  it('learns how run time grows with input size once inputs vary and runs are many', () => {
    const e = new RunTimeEstimator();
    // Run time proportional to the input: 100 s per GB, from 0.1 to 10 GB.
    feed(
      e,
      times(40, (i) => {
        const gb = Math.pow(10, -1 + (2 * (i % 20)) / 19);
        return { tool: 'star', site: 'a', runS: 100 * gb, bytes: gb * GB };
      }),
    );
    expect(e.toolEstimate('star', 5 * GB, 2400)?.medianS).toBeCloseTo(500, 0);
    expect(e.toolEstimate('star', 0.2 * GB, 2400)?.medianS).toBeCloseTo(20, 0);
  });

  it('is robust to outliers: one stuck run does not move the estimate far', () => {
    const e = new RunTimeEstimator();
    feed(
      e,
      times(10, (i) => ({ tool: 'fastqc', site: 'a', runS: 90 + (i % 3) * 10 })),
    );
    const before = e.toolEstimate('fastqc', GB, 600)?.medianS as number;
    feed(e, [{ tool: 'fastqc', site: 'a', runS: 100_000 }], 660);
    const after = e.toolEstimate('fastqc', GB, 700)?.medianS as number;
    expect(after / before).toBeLessThan(1.25);
  });

  it('lets old runs decay: a tool that got slower is relearned', () => {
    const e = new RunTimeEstimator();
    feed(
      e,
      times(50, () => ({ tool: 't', site: 'a', runS: 100 })),
    );
    const later = 8 * DEFAULT_ESTIMATOR_PARAMS.halfLifeS;
    feed(
      e,
      times(10, () => ({ tool: 't', site: 'a', runS: 1000 })),
      later,
    );
    // Each new run is clipped towards the old fit at first, but the old fit weighs 50 / 256 runs by now.
    expect(e.toolEstimate('t', GB, later + 600)?.medianS).toBeGreaterThan(700);
    expect(e.toolEstimate('t', GB, later + 600)?.runs).toBeCloseTo(10 + 50 / 256, 0);
  });

  it.each<[number, [number, number]]>([
    [0, [1, 1]],
    [10, [1.01, 1.5]],
    [400, [1.8, 2.1]],
  ])('shrinks site speeds towards 1 until they have runs: %i runs, one site twice as fast', (n, [lo, hi]) => {
    const e = new RunTimeEstimator();
    // Speeds are relative to the tool's runs everywhere, so compare the two sites with each other.
    feed(
      e,
      times(n, (i) => ({ tool: 'x', site: i % 2 ? 'fast' : 'slow', runS: i % 2 ? 50 : 100 })),
    );
    const at = n * 60;
    const ratio =
      e.sitePerformance('fast', 10, at).speedFactor / e.sitePerformance('slow', 10, at).speedFactor;
    expect(ratio).toBeGreaterThanOrEqual(lo);
    expect(ratio).toBeLessThanOrEqual(hi);
  });

  it('uses a tool estimate per site once the site has enough runs of it', () => {
    const e = new RunTimeEstimator();
    feed(
      e,
      times(4, () => ({ tool: 'x', site: 'slow', runS: 400 })),
    );
    expect(e.siteEstimate('x', 'slow', GB, 300)).toBeUndefined();
    feed(e, [{ tool: 'x', site: 'slow', runS: 400 }], 300);
    const est = e.siteEstimate('x', 'slow', GB, 400);
    expect(est?.scope).toBe('site');
    expect(est?.medianS).toBeCloseTo(400, 6);
    expect(est?.runs).toBeCloseTo(5, 2);
    expect(e.siteEstimate('x', 'other', GB, 400)).toBeUndefined();
    expect(e.siteEstimate(undefined, 'slow', GB, 400)).toBeUndefined();
  });

  it('learns throughput and the median queue and run times of a site, also from tasks with no tool', () => {
    const e = new RunTimeEstimator();
    feed(e, [
      { site: 's', runS: 100, queueS: 5 },
      { site: 's', runS: 300, queueS: 15 },
      { site: 's', runS: 200, queueS: 10 },
    ]);
    const p = e.sitePerformance('s', 20, 180);
    expect(p.throughputPerS).toBeCloseTo(20 / 200, 4);
    expect(p.medianQueueS).toBe(10);
    expect(p.medianRunS).toBe(200);
    expect(p.speedFactor).toBe(1);
    expect(e.sitePerformance('unknown', 20, 180)).toEqual({ speedFactor: 1, speedRuns: 0 });
  });
});
