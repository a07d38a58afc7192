import { isDeepStrictEqual } from 'node:util';
import type { SiteAdapter } from '@constellation/adapters';
import type { AppConfig } from '@constellation/config';
import { attemptContext } from './attempt-context';
import { AttemptDecision, AttemptEvent, decideAttempt } from './attempt-outcome';
import { changeFor, deliveryChange } from './attempt-changes';
import type { DispatchTask } from '@constellation/tes';
import { TaskChange } from './decision-writer';
import { nextPace } from './track-pacing';

/** How a task's next check is paced: its site's status mode, and the earliest its site's budget allows. */
export interface Pacing {
  mode: SiteAdapter['statusMode'];
  notBefore?: Date;
}

export interface CheckOutcome {
  /** What to write; `quiet` when nothing a client sees changes (no new version). */
  change: TaskChange & { quiet?: boolean };
  /** The decision taken about the attempt, for the metrics; none when another step takes the task on. */
  decision?: AttemptDecision;
  /** Set when the attempt ended (finished, or moved elsewhere): what was decided, and why. */
  ended?: string;
}

/**
 * What one status check of a tracked task comes to, from the row as it stands (`row`) and what the site said.
 * Pure: tracking applies it to the row it claimed when the check changes nothing (many at once), and
 * otherwise to the row re-read under its lock.
 */
export function checkOutcome(
  row: DispatchTask,
  claimedRemoteId: string | null,
  event: AttemptEvent,
  pacing: Pacing,
  now: Date,
  config: Pick<AppConfig, 'maxAttempts' | 'maxPreemptions' | 'trackSeconds' | 'amqpReconcileSeconds'>,
): CheckOutcome {
  // A cancel request arrived while the site was asked: the cancel step takes it from here, now.
  if (row.state !== 'INITIALIZING' && row.state !== 'RUNNING')
    return { change: { update: { nextCheckAt: now } } };
  if (row.remoteId !== claimedRemoteId) return { change: { update: { nextCheckAt: now } } };
  // Status checks only read: outputs the broker must move are the delivery step's (delivery.service.ts).
  if (event.kind === 'status' && event.status.state === 'COMPLETE' && event.status.awaitingDelivery)
    return { change: deliveryChange(row, event.status, now) };
  const decision = decideAttempt(attemptContext(row, config), event);
  const status = event.kind === 'status' ? event.status : undefined;
  const transition = changeFor(row, decision, status, now, config);
  if (decision.action !== 'progress') {
    const ended = `${decision.action}: ${decision.reason}`;
    // The site did not say the copy ended: it may still run there, and must be stopped when it answers.
    if (event.kind === 'site_offline' && row.siteId !== null) {
      const abandon = {
        siteId: row.siteId,
        attempt: row.attempt,
        remoteId: row.remoteId,
        reason: decision.reason,
      };
      return { change: { ...transition, abandon }, decision, ended };
    }
    return { change: transition, decision, ended };
  }
  // The back-off starts again when the site's state of the task moved (QUEUED to RUNNING, say).
  const moved = transition.event !== undefined || (status !== undefined && status.state !== row.remoteState);
  const pace = nextPace(pacing.mode, row.trackIntervalMs, moved, now, config);
  if (pacing.notBefore !== undefined && pacing.notBefore > pace.nextCheckAt)
    pace.nextCheckAt = pacing.notBefore;
  transition.update = { ...transition.update, ...pace, remoteState: status?.state ?? row.remoteState };
  // Most checks find nothing new: then only the next check moves, and clients see no new version.
  const unchanged =
    transition.event === undefined &&
    row.failingSince === null &&
    // Key order differs between what the site sent and what jsonb gives back; the content does not.
    isDeepStrictEqual(transition.update.logs ?? row.logs, row.logs);
  return { change: unchanged ? { ...transition, quiet: true } : transition, decision };
}
