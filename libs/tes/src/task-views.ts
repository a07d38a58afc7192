import type { TesView } from './tes.types';

/**
 * The spec's task views, written as JSON text straight from the stored JSON text.
 *
 * PostgreSQL hands `document` and `logs` over as text (jsonb_out, which it runs for any client), and the
 * broker splices them into the view without parsing them and serialising them again: for a page of 256
 * Galaxy-sized tasks that was most of the broker's work. BASIC needs fields removed, which PostgreSQL does
 * with jsonb operators before handing the text over.
 *
 * Only spec fields are emitted (py-tes rejects any unknown key): `document` holds exactly the task fields the
 * client sent, as the validator normalised them (never id, state, logs or creation_time, which it drops), and
 * broker details (site, placement, attempts) live in logs[].metadata and system_logs.
 */

/** The columns a view reads, as SQL over `task`. */
export interface ViewRow {
  id: string;
  state: string;
  /** BASIC and FULL only: the stored document as JSON text, for BASIC without input contents. */
  doc?: string;
  /** BASIC and FULL only: the attempts' logs as JSON text, for BASIC without stdout, stderr, system_logs. */
  logs?: string;
  created_at?: Date;
}

/** `array` with `edit` applied to each element, order kept; [] for an empty array. */
function mapArray(array: string, alias: string, edit: string): string {
  return (
    `(SELECT coalesce(jsonb_agg(${edit} ORDER BY ${alias}_n), '[]'::jsonb) ` +
    `FROM jsonb_array_elements(${array}) WITH ORDINALITY AS ${alias}_e(${alias}, ${alias}_n))`
  );
}

const BASIC_DOC = `(document || jsonb_build_object('inputs', ${mapArray(`document -> 'inputs'`, 'i', `i - 'content'`)}))::text`;
const BASIC_LOGS = `${mapArray(
  'logs',
  'l',
  `(l - 'system_logs') || jsonb_build_object('logs', ${mapArray(`l -> 'logs'`, 'x', `x - 'stdout' - 'stderr'`)})`,
)}::text`;

const VIEW_COLUMNS: Record<TesView, string> = {
  MINIMAL: 'id, state',
  BASIC: `id, state, ${BASIC_DOC} AS doc, ${BASIC_LOGS} AS logs, created_at`,
  FULL: 'id, state, document::text AS doc, logs::text AS logs, created_at',
};

/** The select list `view` needs, over the columns of `task` (ViewRow's fields). */
export function viewColumnsSql(view: TesView): string {
  return VIEW_COLUMNS[view];
}

/**
 * The tesTask of `view` as JSON text; creation_time in RFC 3339, UTC, milliseconds. `id` (a uuid column) and
 * `state` (a column checked against the TES states) hold nothing JSON would escape.
 */
export function renderTaskJson(row: ViewRow): string {
  const head = `{"id":"${row.id}","state":"${row.state}"`;
  if (row.doc === undefined || row.logs === undefined || row.created_at === undefined) return `${head}}`;
  const rest = row.doc.length > 2 ? `,${row.doc.slice(1)}` : '}';
  return `${head},"creation_time":"${row.created_at.toISOString()}","logs":${row.logs}${rest}`;
}
