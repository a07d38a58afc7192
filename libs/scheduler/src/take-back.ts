import type { Placement } from './snapshot';

/**
 * When the broker takes back a task it committed to a site's queue: the site still holds it queued (not
 * started) far beyond the wait placement expected there, and placing it again now promises an earlier
 * completion elsewhere. The wait estimate rests on an average throughput and on run-time estimates off by a
 * factor of about 2.5 per task, so a committed task can sit for hours behind work nobody saw coming.
 */
export interface TakeBackSettings {
  /** A task is overdue once it has been at its site longer than this many times the wait expected there... */
  factor: number;
  /** ...and at least this many seconds (so short expected waits do not trigger on noise). */
  floorS: number;
  /** The new site must promise completion more than this many seconds sooner than staying. */
  marginS: number;
  /** A task taken back this many times stays where it is (no ping-pong between two busy sites). */
  maxTakeBacks: number;
}

/**
 * The setting that gave `ect` the lowest mean turnaround on the default scenario of `npm run bench:sim`
 * (docs/scheduling.md, "Taking back a task stuck in a site queue"): any wait past the estimate and two
 * minutes is enough to look, and the new site's transfer term already prices the move.
 */
export const DEFAULT_TAKE_BACK: Readonly<TakeBackSettings> = Object.freeze({
  factor: 1,
  floorS: 120,
  marginS: 0,
  maxTakeBacks: 2,
});

/**
 * A task judged and kept where it is is judged again no sooner than this (the broker's
 * CONSTELLATION_TAKE_BACK_LOOK_SECONDS default, and the simulator's): the step stays bounded.
 */
export const TAKE_BACK_LOOK_S = 60;

/** Whether a task queued at its site for `atSiteS` has waited there far beyond the `expectedWaitS` placement gave it. */
export function overdueAtSite(
  atSiteS: number,
  expectedWaitS: number,
  takenBack: number,
  settings: TakeBackSettings,
): boolean {
  if (takenBack >= settings.maxTakeBacks) return false;
  return atSiteS > Math.max(settings.factor * Math.max(0, expectedWaitS), settings.floorS);
}

export interface TakeBack {
  fromSiteId: string;
  toSiteId: string;
  /** Expected seconds to completion if the task stays queued where it is. */
  stayS: number;
  /** Expected seconds to completion at the new site (its queue wait, transfer and run). */
  moveS: number;
}

/**
 * Judges a placement made for an overdue task as if it had left its site (the caller removes the task from
 * that site's load first): take it back only when the placement places it on another site whose completion
 * beats staying by the margin. Staying is judged as the site's own estimate with its queue wait at least the
 * time the task has already waited there: a queue that held it that long past its estimate is expected to
 * hold it as long again (the same heavy-tail reasoning the queue wait applies to a running task past its run
 * estimate). A task already staged there needs no transfer to stay.
 */
export function takeBackChoice(
  placement: Placement,
  fromSiteId: string,
  atSiteS: number,
  settings: TakeBackSettings,
): TakeBack | undefined {
  if (placement.decision !== 'place' || placement.siteId === undefined || placement.siteId === fromSiteId)
    return undefined;
  let from: Placement['candidates'][number] | undefined;
  let to: Placement['candidates'][number] | undefined;
  for (const c of placement.candidates) {
    if (c.siteId === fromSiteId) from = c;
    if (c.siteId === placement.siteId) to = c;
  }
  if (to === undefined) return undefined;
  // A site that can no longer run the task at all (disabled, its limits changed) is left to failover.
  if (from === undefined || !from.feasible) return undefined;
  const stayS = Math.max(from.queueWaitS, atSiteS) + from.runS;
  if (to.totalS + settings.marginS >= stayS) return undefined;
  return { fromSiteId, toSiteId: placement.siteId, stayS, moveS: to.totalS };
}
