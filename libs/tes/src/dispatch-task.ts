import type { TaskDocument, TesState, TesTaskLog } from './tes.types';

/** A task as the dispatch loops read it: the one row type dispatch sees of the task table. */
export interface DispatchTask {
  id: string;
  submitterId: string;
  state: TesState;
  /**
   * The TES document without `inputs[].content`, which is stored apart (task_input_content) and read only
   * when the task is sent to its site: a claim for submission puts it back.
   */
  document: TaskDocument;
  /** Whether some input's content is stored apart (such an input has neither url nor content here). */
  hasInlineContent: boolean;
  createdAt: Date;
  queuedAt: Date;
  attempt: number;
  siteId: string | null;
  remoteId: string | null;
  claimedBy: string | null;
  excludedSiteIds: string[];
  preemptions: number;
  /** Times the broker took the task back from a site queue; the attempt limit does not count them. */
  takeBacks: number;
  logs: TesTaskLog[];
  /** Since when the site has failed to answer about this task; null while it answers. */
  failingSince: Date | null;
  /** When a submission of this attempt went out without an answer; null when none is in doubt. */
  submitDoubtAt: Date | null;
  /**
   * Not null while the site has finished the attempt and the broker delivers its outputs: the failed delivery
   * tries so far. Such a task is the delivery step's, never tracking's.
   */
  deliveryTries: number | null;
  /** Tracking's current back-off between two status checks; null before the first. */
  trackIntervalMs: number | null;
  /** The state the site last reported for this attempt; null before the first report. */
  remoteState: TesState | null;
  /** The row's version when read: every write a client can see bumps it. */
  version: number;
  /**
   * True only from a claim for submission that found no earlier claim of this attempt: no send of it can have
   * gone out before, so the site cannot hold a copy to look for. Absent or false everywhere else (the safe side).
   */
  firstSend?: boolean;
}

/** Work a replica claims with a lease: each phase is a state plus a condition on the remote id. */
export type Phase = 'submit' | 'track' | 'deliver' | 'cancel';

// The submit and track filters are the predicates of task_submit_due_idx and task_track_due_idx, word for
// word, so the planner sees those indexes serve them.
export const PHASE_FILTER: Record<Phase, string> = {
  submit: `state = 'INITIALIZING' AND remote_id IS NULL AND site_id IS NOT NULL`,
  track: `state IN ('INITIALIZING', 'RUNNING') AND remote_id IS NOT NULL AND delivery_tries IS NULL`,
  deliver: `state = 'RUNNING' AND remote_id IS NOT NULL AND delivery_tries IS NOT NULL`,
  cancel: `state = 'CANCELING' AND site_id IS NOT NULL`,
};

/** A lease nobody holds, or one that ran out (on the database's clock). */
export const FREE = '(lease_until IS NULL OR lease_until < clock_timestamp())';

/** The columns a DispatchTask is read from (see DispatchTaskRow). */
export const COLUMNS = `id, submitter_id, state, document, content_bytes > 0 AS has_inline_content, created_at,
  COALESCE(queued_at, created_at) AS queued_at, current_attempt, site_id, remote_id, claimed_by, excluded_site_ids,
  preemptions, take_backs, logs, failing_since, submit_doubt_at, delivery_tries, track_interval_ms, remote_state, version`;

export interface DispatchTaskRow {
  id: string;
  submitter_id: string;
  state: TesState;
  document: TaskDocument;
  has_inline_content: boolean;
  created_at: Date;
  queued_at: Date;
  current_attempt: number;
  site_id: string | null;
  remote_id: string | null;
  claimed_by: string | null;
  excluded_site_ids: string[];
  preemptions: number;
  take_backs: number;
  logs: TesTaskLog[];
  failing_since: Date | null;
  submit_doubt_at: Date | null;
  delivery_tries: number | null;
  track_interval_ms: number | null;
  remote_state: TesState | null;
  version: number;
}

/**
 * The broker stores every list of a task, empty or not; a row written another way (by hand, by a tool that
 * inserts into `task`) may leave out the lists TES itself makes optional, which every reader expects.
 */
function withEmptyLists(document: TaskDocument): TaskDocument {
  // Anything but an object is left for placement to fail as unreadable.
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return document;
  const lists = document as Partial<TaskDocument>;
  return {
    ...document,
    inputs: lists.inputs ?? [],
    outputs: lists.outputs ?? [],
    volumes: lists.volumes ?? [],
    tags: lists.tags ?? {},
  };
}

export function toDispatchTask(r: DispatchTaskRow): DispatchTask {
  return {
    id: r.id,
    submitterId: r.submitter_id,
    state: r.state,
    document: withEmptyLists(r.document),
    hasInlineContent: r.has_inline_content,
    createdAt: r.created_at,
    queuedAt: r.queued_at,
    attempt: r.current_attempt,
    siteId: r.site_id,
    remoteId: r.remote_id,
    claimedBy: r.claimed_by,
    excludedSiteIds: r.excluded_site_ids,
    preemptions: r.preemptions,
    takeBacks: r.take_backs,
    logs: r.logs,
    failingSince: r.failing_since,
    submitDoubtAt: r.submit_doubt_at,
    deliveryTries: r.delivery_tries,
    trackIntervalMs: r.track_interval_ms,
    remoteState: r.remote_state,
    version: r.version,
  };
}
