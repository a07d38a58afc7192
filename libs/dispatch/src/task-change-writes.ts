import { EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import type { TaskEventKind } from '@constellation/tes';
import type { TaskEventNote, TaskUpdate } from './dispatch.repository';

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
  placement: { column: 'placement', type: 'jsonb', encode: json },
  logs: { column: 'logs', type: 'jsonb', encode: json },
  // Lists of different lengths cannot share a two-dimensional array: each travels as JSON.
  excludedSiteIds: {
    column: 'excluded_site_ids',
    type: 'jsonb',
    encode: json,
    decode: (v) => `ARRAY(SELECT jsonb_array_elements_text(${v}))::uuid[]`,
  },
  preemptions: { column: 'preemptions', type: 'integer' },
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
 * statement per set of fields changed (in practice one or two per batch), instead of one per task.
 */
export async function writeClaimedUpdates(
  m: EntityManager,
  items: readonly ClaimedUpdate[],
  now: Date,
): Promise<void> {
  const byShape = new Map<string, ClaimedUpdate[]>();
  for (const item of items) {
    const fields = (Object.keys(item.update) as (keyof TaskUpdate)[])
      .filter((k) => item.update[k] !== undefined)
      .sort();
    const shape = fields.join(',');
    byShape.set(shape, [...(byShape.get(shape) ?? []), item]);
  }
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
    await m.query(
      `UPDATE task t SET ${sets.join(', ')}
       FROM unnest(${arrays.join(', ')}) AS w(${names.join(', ')})
       WHERE t.id = w.id`,
      params,
    );
  }
}

/** Inserts task events in one statement. */
export async function insertTaskEvents(
  m: EntityManager,
  events: readonly { taskId: string; note: TaskEventNote }[],
  now: Date,
  kind: TaskEventKind = 'state',
): Promise<void> {
  if (events.length === 0) return;
  await m.query(
    `INSERT INTO task_event (id, task_id, created_at, from_state, to_state, site_id, attempt, reason, kind)
     SELECT e.id, e.task_id, $1, e.from_state, e.to_state, e.site_id, e.attempt, e.reason, $2
     FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::integer[], $9::text[])
       AS e(id, task_id, from_state, to_state, site_id, attempt, reason)`,
    [
      now,
      kind,
      events.map(() => newId()),
      events.map((e) => e.taskId),
      events.map((e) => e.note.from),
      events.map((e) => e.note.to),
      events.map((e) => e.note.siteId),
      events.map((e) => e.note.attempt),
      events.map((e) => e.note.reason.slice(0, 2000)),
    ],
  );
}
