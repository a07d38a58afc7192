import { EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import type { TaskEventKind } from './task-event.entity';
import type { TesState } from './tes.types';

/** One line of a task's history, as its writer decides it. */
export interface TaskEventNote {
  from: TesState;
  to: TesState;
  siteId: string | null;
  attempt: number;
  reason: string;
}

/** Reasons are stored whole up to this length: a site's error text can run to megabytes. */
export const EVENT_REASON_CHARS = 2000;

/**
 * The one writer of single task_event rows (the API's transitions and dispatch's steps alike), in the
 * transaction of the task change it records. Batched writes insert their events in their own statement.
 */
export async function insertTaskEvent(
  m: EntityManager,
  taskId: string,
  e: TaskEventNote,
  now: Date,
  kind: TaskEventKind = 'state',
): Promise<void> {
  await m.query(
    `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [newId(), taskId, now, e.from, e.to, e.siteId, e.attempt, e.reason.slice(0, EVENT_REASON_CHARS), kind],
  );
}

/** insertTaskEvent for many events of one kind, in one statement. */
export async function insertTaskEvents(
  m: EntityManager,
  events: readonly { taskId: string; note: TaskEventNote }[],
  now: Date,
  kind: TaskEventKind = 'state',
): Promise<void> {
  if (events.length === 0) return;
  const insert = taskEventsInsert(events, now, 1, kind);
  await m.query(insert.sql, insert.params);
}

/**
 * The INSERT of insertTaskEvents with its parameters numbered from `first`, for a statement that writes the
 * events beside something else (as a data-modifying CTE).
 */
export function taskEventsInsert(
  events: readonly { taskId: string; note: TaskEventNote }[],
  now: Date,
  first: number,
  kind: TaskEventKind = 'state',
): { sql: string; params: unknown[] } {
  const p = (i: number) => `$${first + i}`;
  return {
    sql: `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
     SELECT e.id, e.task_id, ${p(0)}::timestamptz, e.from_state, e.to_state, e.site_id, e.attempt, e.reason,
            ${p(1)}::text
     FROM unnest(${p(2)}::uuid[], ${p(3)}::uuid[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::uuid[],
                 ${p(7)}::integer[], ${p(8)}::text[])
       AS e(id, task_id, from_state, to_state, site_id, attempt, reason)`,
    params: [
      now,
      kind,
      events.map(() => newId()),
      events.map((e) => e.taskId),
      events.map((e) => e.note.from),
      events.map((e) => e.note.to),
      events.map((e) => e.note.siteId),
      events.map((e) => e.note.attempt),
      events.map((e) => e.note.reason.slice(0, EVENT_REASON_CHARS)),
    ],
  };
}
