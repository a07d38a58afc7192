import { EntityManager } from 'typeorm';
import { storedPlacement } from './placement-storage';
import { insertTaskEvents, taskEventsInsert, type TaskEventNote } from './task-event.writer';
import type { TesState, TesTaskLog } from './tes.types';

/** Columns a dispatch step may change; `undefined` leaves a column as it is. */
export interface TaskUpdate {
  state?: TesState;
  siteId?: string | null;
  remoteId?: string | null;
  attempt?: number;
  placement?: Record<string, unknown>;
  logs?: TesTaskLog[];
  excludedSiteIds?: string[];
  preemptions?: number;
  takeBacks?: number;
  queuedAt?: Date;
  nextCheckAt?: Date | null;
  failingSince?: Date | null;
  submitDoubtAt?: Date | null;
  deliveryTries?: number | null;
  trackIntervalMs?: number | null;
  remoteState?: TesState | null;
}

/** How a TaskUpdate field travels to its column: its array type for unnest, and how a value is read back. */
interface UpdateColumn {
  column: string;
  type: string;
  encode?: (value: unknown) => unknown;
  /** The SQL that turns the unnested value (`v`) into the column's value, when not the value itself. */
  decode?: (v: string) => string;
}

const json = (value: unknown) => JSON.stringify(value);

const UPDATE_COLUMNS: Record<keyof TaskUpdate, UpdateColumn> = {
  state: { column: 'state', type: 'text' },
  siteId: { column: 'site_id', type: 'uuid' },
  remoteId: { column: 'remote_id', type: 'text' },
  attempt: { column: 'current_attempt', type: 'integer' },
  placement: {
    column: 'placement',
    type: 'jsonb',
    encode: (value) => json(storedPlacement(value as Record<string, unknown>)),
  },
  logs: { column: 'logs', type: 'jsonb', encode: json },
  // Lists of different lengths cannot share a two-dimensional array: each travels as JSON.
  excludedSiteIds: {
    column: 'excluded_site_ids',
    type: 'jsonb',
    encode: json,
    decode: (v) => `ARRAY(SELECT jsonb_array_elements_text(${v}))::uuid[]`,
  },
  preemptions: { column: 'preemptions', type: 'integer' },
  takeBacks: { column: 'take_backs', type: 'integer' },
  queuedAt: { column: 'queued_at', type: 'timestamptz' },
  nextCheckAt: { column: 'next_check_at', type: 'timestamptz' },
  failingSince: { column: 'failing_since', type: 'timestamptz' },
  submitDoubtAt: { column: 'submit_doubt_at', type: 'timestamptz' },
  deliveryTries: { column: 'delivery_tries', type: 'integer' },
  trackIntervalMs: { column: 'track_interval_ms', type: 'integer' },
  remoteState: { column: 'remote_state', type: 'text' },
};

export interface ClaimedUpdate {
  id: string;
  update: TaskUpdate;
}

/**
 * Writes updates of claimed tasks and frees their claims, bumping each version as a single write does: one
 * statement per set of fields changed (in practice one or two per batch), instead of one per task. The
 * events that record them are inserted by the last of those statements (a data-modifying CTE), not by one of
 * their own.
 */
export async function writeClaimedUpdates(
  m: EntityManager,
  items: readonly ClaimedUpdate[],
  now: Date,
  events: readonly { taskId: string; note: TaskEventNote }[] = [],
): Promise<void> {
  if (items.length === 0) return insertTaskEvents(m, events, now);
  const byShape = new Map<string, ClaimedUpdate[]>();
  for (const item of items) {
    const fields = (Object.keys(item.update) as (keyof TaskUpdate)[])
      .filter((k) => item.update[k] !== undefined)
      .sort();
    const shape = fields.join(',');
    byShape.set(shape, [...(byShape.get(shape) ?? []), item]);
  }
  let left = byShape.size;
  for (const [shape, group] of byShape) {
    const fields = shape === '' ? [] : (shape.split(',') as (keyof TaskUpdate)[]);
    const params: unknown[] = [now, group.map((g) => g.id)];
    const sets = ['updated_at = $1', 'version = t.version + 1', 'claimed_by = NULL', 'lease_until = NULL'];
    const arrays = ['$2::uuid[]'];
    const names = ['id'];
    fields.forEach((field, i) => {
      const c = UPDATE_COLUMNS[field];
      params.push(group.map((g) => (c.encode ? c.encode(g.update[field]) : g.update[field])));
      arrays.push(`$${params.length}::${c.type}[]`);
      names.push(`c${i}`);
      sets.push(`${c.column} = ${c.decode ? c.decode(`w.c${i}`) : `w.c${i}`}`);
    });
    let withEvents = '';
    if (--left === 0 && events.length > 0) {
      const insert = taskEventsInsert(events, now, params.length + 1);
      withEvents = `WITH events AS (${insert.sql}) `;
      params.push(...insert.params);
    }
    await m.query(
      `${withEvents}UPDATE task t SET ${sets.join(', ')}
       FROM unnest(${arrays.join(', ')}) AS w(${names.join(', ')})
       WHERE t.id = w.id`,
      params,
    );
  }
}
