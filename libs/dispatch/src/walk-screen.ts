import type { AppConfig } from '@constellation/config';
import type { DispatchTask, TaskUpdate, TesTaskLog, WalkedTask } from '@constellation/tes';
import type { RemoteStatus } from '@constellation/adapters';
import { AttemptEvent, decideAttempt } from './attempt-outcome';
import { MAX_SYSTEM_LOGS, SITE_LOG_PREFIX } from './attempt-log';
import { checkOutcome } from './check-outcome';

/**
 * A tracked task of a walked site as the walk reads it, without a lock: only what tells whether a check of it
 * found nothing new. Not its document nor its whole log: a site's walk covers thousands of tasks, and almost
 * all of them are quiet.
 */
export type WalkRow = WalkedTask;

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
    takeBacks: 0,
    logs: row.attemptLog === null ? [] : [row.attemptLog],
    failingSince: row.failingSince,
    submitDoubtAt: null,
    deliveryTries: null,
    trackIntervalMs: row.trackIntervalMs,
    remoteState: row.remoteState,
    version: row.version,
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

/**
 * Whether the site reports a walked task exactly as it was recorded: its state as last seen, and nothing a
 * merge of the report would change in the attempt's log. Most tasks of a walk are such, and checkOutcome
 * costs tens of microseconds each (it builds the merged log and compares it deeply): this answers from the
 * fields alone. It may say false for a report that changes nothing (then checkOutcome decides), never true for
 * one that changes something.
 */
export function reportedAsRecorded(
  row: WalkRow,
  event: AttemptEvent,
  config: Pick<AppConfig, 'maxAttempts' | 'maxPreemptions'>,
): boolean {
  if (event.kind !== 'status' || row.failingSince !== null || row.attemptLog === null) return false;
  const { status } = event;
  if (status.streamsOmitted !== true || status.state !== row.remoteState) return false;
  if (row.state !== 'INITIALIZING' && row.state !== 'RUNNING') return false;
  // Whether the report keeps the task as it is depends on the two states alone: the limits, preemptions and
  // document shape only a failover or an end, never quiet. A full context (screenCopy) costs more per task.
  const decision = decideAttempt(
    {
      state: row.state,
      attempt: row.attempt,
      maxAttempts: config.maxAttempts,
      preemptions: 0,
      maxPreemptions: config.maxPreemptions,
      rerunOnSiteLoss: true,
    },
    event,
  );
  return decision.action === 'progress' && decision.state === row.state && logKept(row.attemptLog, status);
}

const STREAMS: ReadonlySet<string> = new Set(['stdout', 'stderr']);
const NONE: ReadonlySet<string> = new Set();

/** Whether mergeRemoteStatus (attempt-log.ts) would give `log` back unchanged for a report without streams. */
function logKept(log: TesTaskLog, status: RemoteStatus): boolean {
  if (status.startTime !== undefined && status.startTime !== log.start_time) return false;
  if (status.endTime !== undefined && status.endTime !== log.end_time) return false;
  const stored = log.logs;
  if (!Array.isArray(stored) || !Array.isArray(log.outputs) || !Array.isArray(log.system_logs)) return false;
  if (stored.length !== status.executorLogs.length || log.outputs.length !== status.outputs.length)
    return false;
  // The broker's own lines first, then the site's, as a merge orders them, and no more than a merge keeps.
  const lines = log.system_logs;
  if (lines.length > MAX_SYSTEM_LOGS) return false;
  let siteLines = false;
  for (const line of lines) {
    if (typeof line !== 'string') return false;
    if (line.startsWith(SITE_LOG_PREFIX)) siteLines = true;
    else if (siteLines) return false;
  }
  // A report without streams keeps the stored stdout and stderr: every other field must match.
  return (
    stored.every((entry, i) => sameFields(entry, status.executorLogs[i], STREAMS)) &&
    log.outputs.every((entry, i) => sameFields(entry, status.outputs[i], NONE))
  );
}

/**
 * The stored entry's keys, but the `ignored` ones, with the same plain values as reported, and no other key
 * reported (an ignored or undefined one included, which a merge would add); false for anything else.
 */
function sameFields(stored: object, reported: object, ignored: ReadonlySet<string>): boolean {
  if (typeof stored !== 'object' || stored === null || typeof reported !== 'object' || reported === null)
    return false;
  const got = new Map(Object.entries(reported));
  const kept = Object.entries(stored).filter(([k]) => !ignored.has(k));
  return (
    kept.length === got.size &&
    kept.every(([k, v]) => (v === null || typeof v !== 'object') && got.has(k) && got.get(k) === v)
  );
}
