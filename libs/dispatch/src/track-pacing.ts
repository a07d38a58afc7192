import type { StatusMode } from '@constellation/adapters';
import type { AppConfig } from '@constellation/config';

/** The first status check after a submission comes this soon: most short tasks are over by the third. */
export const FIRST_CHECK_MS = 500;

export interface TrackPace {
  nextCheckAt: Date;
  trackIntervalMs: number;
}

/**
 * The next check of a task whose site is walked as a whole (TES, statusMode 'listed'): never due on its own.
 * The site's walk (site_tracking) covers it; a task set due again (just submitted, a failed check, a cancel)
 * brings its site's walk forward.
 */
export const SITE_PACED_AT = new Date('9999-12-31T00:00:00.000Z');

type PaceConfig = Pick<AppConfig, 'trackSeconds' | 'amqpReconcileSeconds'>;

/** When to check a task first, just after it was submitted. */
export function firstPace(now: Date, config: PaceConfig): TrackPace {
  const interval = Math.min(FIRST_CHECK_MS, config.trackSeconds * 1000);
  return { nextCheckAt: new Date(now.getTime() + interval), trackIntervalMs: interval };
}

/**
 * When to check a task next, after a check. Polled sites back off: 0.5 s, 1, 2, 4 ... up to
 * CONSTELLATION_TRACK_SECONDS, from the start again when the site's state of the task changed, so short
 * tasks end fast and long ones cost few requests. A site that pushes its updates (Pulsar AMQP) has them
 * applied when they arrive: its checks are only the reconciliation, for updates lost while no broker listened.
 */
export function nextPace(
  mode: StatusMode,
  previousMs: number | null,
  changed: boolean,
  now: Date,
  config: PaceConfig,
): TrackPace {
  const capMs = config.trackSeconds * 1000;
  let interval: number;
  if (mode === 'pushed') interval = Math.max(capMs, config.amqpReconcileSeconds * 1000);
  else if (previousMs === null || changed) interval = Math.min(FIRST_CHECK_MS, capMs);
  else interval = Math.min(capMs, Math.max(FIRST_CHECK_MS, previousMs * 2));
  const nextCheckAt = mode === 'listed' ? SITE_PACED_AT : new Date(now.getTime() + interval);
  return { nextCheckAt, trackIntervalMs: Math.round(interval) };
}

/**
 * When to walk a listed site next: the back-off of a task polled on its own, led by the youngest change among
 * the site's tasks (0.5 s after a submission or a state change, doubling to CONSTELLATION_TRACK_SECONDS).
 * Counted from the walk's start, so a site whose walk takes a while (thousands of tasks, many pages) is still
 * walked once per interval rather than once per interval plus the walk; never sooner than FIRST_CHECK_MS
 * after the walk's end, so a walk longer than its interval is not followed by another at once.
 */
export function nextWalk(
  previousMs: number | null,
  changed: boolean,
  startedAt: Date,
  endedAt: Date,
  config: PaceConfig,
): TrackPace {
  const pace = nextPace('per-task', previousMs, changed, startedAt, config);
  const earliest = endedAt.getTime() + Math.min(FIRST_CHECK_MS, pace.trackIntervalMs);
  if (pace.nextCheckAt.getTime() >= earliest) return pace;
  return { nextCheckAt: new Date(earliest), trackIntervalMs: pace.trackIntervalMs };
}
