import type { AppConfig } from '@constellation/config';
import type { TesState, TesTaskLog } from '@constellation/tes';
import type { AttemptEvent } from './attempt-outcome';
import { checkOutcome } from './check-outcome';
import { DispatchTask, TaskUpdate } from './dispatch.repository';

/**
 * A tracked task of a walked site as the walk reads it, without a lock: only what tells whether a check of it
 * found nothing new. Not its document nor its whole log: a site's walk covers thousands of tasks, and almost
 * all of them are quiet.
 */
export interface WalkRow {
  id: string;
  remoteId: string;
  siteId: string;
  state: TesState;
  /** The row's version when read: a changed task is claimed only at this version. */
  version: number;
  /** Whether the task is already left to its site's walk (false: just submitted, or set due again). */
  sitePaced: boolean;
  attempt: number;
  remoteState: TesState | null;
  trackIntervalMs: number | null;
  failingSince: Date | null;
  /** The current attempt's log without its executors' stdout and stderr; null when the row has none. */
  attemptLog: TesTaskLog | null;
}

/**
 * The row as checkOutcome sees it when it judges a walked task. A quiet outcome depends only on the columns
 * a WalkRow holds; the others (document, exclusions, preemptions) feed only outcomes that are not quiet, and
 * those are taken again from the full row once it is claimed. The log's streams are left out: a list read
 * without them (TES BASIC) keeps the stored ones, so they cannot tell a quiet check from one that is not.
 */
function screenCopy(row: WalkRow): DispatchTask {
  return {
    id: row.id,
    submitterId: '',
    state: row.state,
    document: { executors: [], inputs: [], outputs: [], volumes: [], tags: {} },
    hasInlineContent: false,
    createdAt: new Date(0),
    queuedAt: new Date(0),
    attempt: row.attempt,
    siteId: row.siteId,
    remoteId: row.remoteId,
    claimedBy: null,
    excludedSiteIds: [],
    preemptions: 0,
    logs: row.attemptLog === null ? [] : [row.attemptLog],
    failingSince: row.failingSince,
    submitDoubtAt: null,
    deliveryTries: null,
    trackIntervalMs: row.trackIntervalMs,
    remoteState: row.remoteState,
  };
}

/**
 * What a walk's answer about one task comes to when it is quiet (only the pacing and the site's state to
 * record, no new version); null when it is not, or cannot be told without the full row: a change, a failure,
 * an answer with streams (read alone, in the FULL view). The full row decides those.
 */
export function quietWalkCheck(
  row: WalkRow,
  event: AttemptEvent,
  now: Date,
  config: Pick<AppConfig, 'maxAttempts' | 'maxPreemptions' | 'trackSeconds' | 'amqpReconcileSeconds'>,
): TaskUpdate | null {
  if (event.kind !== 'status' || event.status.streamsOmitted !== true) return null;
  const outcome = checkOutcome(screenCopy(row), row.remoteId, event, { mode: 'listed' }, now, config);
  return outcome.change.quiet ? outcome.change.update : null;
}
