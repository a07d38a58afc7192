import { isUuid } from '@constellation/common';

export const LIVE_CHANNEL = 'constellation_events';

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

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
const count = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const uuid = (v: unknown): v is string => typeof v === 'string' && isUuid(v);

/**
 * A NOTIFY payload, checked field by field: the channel is open to anything connected to the database
 * (an operator's psql, another program), so what is not one of our two shapes is dropped, and only the
 * known fields are passed on.
 */
export function parseLiveEvent(payload: string): LiveEvent | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  const time = typeof raw.time === 'string' ? new Date(raw.time) : new Date(NaN);
  if (Number.isNaN(time.getTime())) return undefined;
  if (raw.type === 'task') {
    if (!uuid(raw.task_id) || !uuid(raw.submitter_id) || !text(raw.kind) || !text(raw.to)) return undefined;
    if (raw.from !== null && !text(raw.from)) return undefined;
    if (raw.site_id !== null && !uuid(raw.site_id)) return undefined;
    if (!count(raw.attempt)) return undefined;
    return {
      type: 'task',
      task_id: raw.task_id,
      submitter_id: raw.submitter_id,
      kind: raw.kind,
      from: raw.from,
      to: raw.to,
      site_id: raw.site_id,
      attempt: raw.attempt,
      time: time.toISOString(),
    };
  }
  if (raw.type === 'site') {
    if (!uuid(raw.site_id) || !text(raw.slug) || !text(raw.admin_state) || !text(raw.health))
      return undefined;
    if (!count(raw.running) || !count(raw.queued) || !count(raw.max_concurrent_tasks)) return undefined;
    return {
      type: 'site',
      site_id: raw.site_id,
      slug: raw.slug,
      admin_state: raw.admin_state,
      health: raw.health,
      running: raw.running,
      queued: raw.queued,
      max_concurrent_tasks: raw.max_concurrent_tasks,
      time: time.toISOString(),
    };
  }
  return undefined;
}
