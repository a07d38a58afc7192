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
