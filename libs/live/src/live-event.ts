/** A task's state changed (or a copy it left at a site was dealt with): one task_event row. */
export interface TaskLiveEvent {
  type: 'task';
  task_id: string;
  submitter_id: string;
  kind: string;
  from: string | null;
  to: string;
  site_id: string | null;
  attempt: number;
  time: string;
}

/** A site's health, admin state or load changed. */
export interface SiteLiveEvent {
  type: 'site';
  site_id: string;
  slug: string;
  admin_state: string;
  health: string;
  running: number;
  queued: number;
  max_concurrent_tasks: number;
  time: string;
}

export type LiveEvent = TaskLiveEvent | SiteLiveEvent;
export type LiveEventType = LiveEvent['type'];
export const LIVE_EVENT_TYPES: readonly LiveEventType[] = ['task', 'site'];
