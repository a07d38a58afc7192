import type { TesView } from './tes.types';

/**
 * The spec's task views, rendered as JSON text by PostgreSQL.
 *
 * PostgreSQL writes `document` and `logs` as text anyway (jsonb_out, which it runs for any client); it also
 * writes the few fields around them and, for a list, joins the page into one value. The broker sends that
 * text as it is: it never parses a stored document and serialises it again, and a page of 256 tasks reaches
 * it as one field instead of 256 rows to decode. BASIC needs fields removed, which PostgreSQL does with
 * jsonb operators.
 *
 * Only spec fields are emitted (py-tes rejects any unknown key): `document` holds exactly the task fields the
 * client sent, as the validator normalised them (never id, state, logs or creation_time, which it drops), and
 * broker details (site, placement, attempts) live in logs[].metadata and system_logs.
 */

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

/**
 * The document of row `alias` with its inline contents put back from task_input_content (where they are
 * stored apart: see TaskInputContentEntity), as jsonb: each content in its input, as the client sent it.
 */
function documentWithContent(alias: string): string {
  return (
    `(${alias}.document || jsonb_build_object('inputs', (SELECT jsonb_agg(CASE WHEN c.content IS NULL THEN e.i ` +
    `ELSE e.i || jsonb_build_object('content', c.content) END ORDER BY e.n) ` +
    `FROM jsonb_array_elements(${alias}.document -> 'inputs') WITH ORDINALITY AS e(i, n) ` +
    `LEFT JOIN task_input_content AS c ON c.task_id = ${alias}.id AND c.input_index = e.n - 1)))`
  );
}

/** FULL's document text; only a task that has contents (content_bytes > 0) reads task_input_content. */
const FULL_DOC = `CASE WHEN task.content_bytes = 0 THEN task.document::text ELSE ${documentWithContent('task')}::text END`;

/** What each view reads from `task`: `id`, `state`, and for BASIC and FULL the texts `doc` and `logs`. */
const VIEW_COLUMNS: Record<TesView, string> = {
  MINIMAL: 'id, state',
  BASIC: `id, state, ${BASIC_DOC} AS doc, ${BASIC_LOGS} AS logs, created_at`,
  FULL: `id, state, ${FULL_DOC} AS doc, logs::text AS logs, created_at`,
};

/**
 * A row of VIEW_COLUMNS (as `v`) written as its tesTask. `id` (a uuid) and `state` (checked against the TES
 * states) hold nothing JSON would escape; creation_time is RFC 3339 in UTC with milliseconds; the document's
 * fields follow, spliced in after its opening brace.
 */
const MINIMAL_JSON = `'{"id":"' || v.id || '","state":"' || v.state || '"}'`;
const DETAILED_JSON =
  `'{"id":"' || v.id || '","state":"' || v.state || '","creation_time":"' || ` +
  `to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","logs":' || v.logs || ` +
  `CASE WHEN v.doc = '{}' THEN '}' ELSE ',' || substr(v.doc, 2) END`;
const VIEW_JSON: Record<TesView, string> = {
  MINIMAL: MINIMAL_JSON,
  BASIC: DETAILED_JSON,
  FULL: DETAILED_JSON,
};

/**
 * The tasks with the given ids as rows of (`id`, `submitter_id`, `json`: the tesTask of `view`), for
 * parameter `$1` (a uuid array); unknown ids have no row.
 */
export function viewsByIdSql(view: TesView): string {
  return (
    `SELECT v.id, v.submitter_id, ${VIEW_JSON[view]} AS json ` +
    `FROM (SELECT submitter_id, ${VIEW_COLUMNS[view]} FROM task WHERE id = ANY($1::uuid[])) AS v`
  );
}

/**
 * viewsByIdSql for FULL over many ids at once, with only the contents of tasks whose contents add at most
 * `inlineUpTo` bytes put in: a task with more has a null `json`, to be read on its own, so that one
 * statement for many polled tasks never builds a result of many large contents.
 */
export function fullViewsByIdSql(inlineUpTo: number): string {
  if (!Number.isSafeInteger(inlineUpTo) || inlineUpTo < 0)
    throw new RangeError(`${inlineUpTo} is not a size`);
  const doc =
    `CASE WHEN task.content_bytes = 0 THEN task.document::text ` +
    `WHEN task.content_json_bytes <= ${inlineUpTo} THEN ${documentWithContent('task')}::text END`;
  return (
    `SELECT v.id, v.submitter_id, ${VIEW_JSON.FULL} AS json ` +
    `FROM (SELECT submitter_id, id, state, ${doc} AS doc, logs::text AS logs, created_at ` +
    `FROM task WHERE id = ANY($1::uuid[])) AS v`
  );
}

/**
 * Between the tasks of a page: JSON allows the newline, and no task's text can hold one (JSON escapes it in
 * strings and jsonb_out never writes one), so the last separator marks where the page's last task begins.
 */
const PAGE_SEPARATOR = ',\n'; // E',\\n' in viewPageSql

/**
 * One page of tasks in one row: `tasks`, the tesTasks of `view` selected by `where` (may be empty), newest
 * first, joined by PAGE_SEPARATOR; `found`, how many. `limit`, how many to select, is written in the text:
 * one more than a page, to tell whether another page follows (see pageOf).
 */
export function viewPageSql(view: Exclude<TesView, 'FULL'>, where: string, limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`page limit ${limit} is not a count`);
  // string_agg takes the rows in the order of the subquery: an ORDER BY inside the aggregate would sort
  // them again, which costs more than the rest of the statement.
  return (
    `SELECT string_agg(${VIEW_JSON[view]}, E',\\n') AS tasks, count(*)::int AS found ` +
    `FROM (SELECT ${VIEW_COLUMNS[view]} FROM task` +
    (where === '' ? '' : ` WHERE ${where}`) +
    ` ORDER BY id DESC LIMIT ${limit}) AS v`
  );
}

/**
 * What a task's FULL text holds besides its document, logs and contents (id, state, creation time, keys,
 * the separator), rounded up: with the exact lengths of the rest, a page's estimate is never below its text.
 */
const TASK_TEXT_OVERHEAD = 128;

/**
 * viewPageSql for FULL, bounded by bytes as well as by `limit`: the page stops before the task that would
 * take its text past `budgetBytes` (its first task always fits, so paging moves on). Each candidate's size
 * is known before any content is read: its document and logs are measured as text (they hold no content),
 * the contents by content_json_bytes. Only the tasks that fit have their contents read and their text
 * built, so PostgreSQL never builds a page larger than the budget. The row also has `candidates`, the
 * tasks the limit found: fewer `found` means the budget cut the page and another follows.
 */
export function fullPageSql(where: string, limit: number, budgetBytes: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`page limit ${limit} is not a count`);
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 1)
    throw new RangeError(`${budgetBytes} is not a size`);
  // The candidates' LIMIT keeps this subquery apart (not pulled up), so each document is written once.
  const candidates =
    `SELECT id, state, created_at, document, content_bytes, content_json_bytes, ` +
    `document::text AS doc, logs::text AS logs FROM task` +
    (where === '' ? '' : ` WHERE ${where}`) +
    ` ORDER BY id DESC LIMIT ${limit}`;
  const measured =
    `SELECT c.*, row_number() OVER w AS n, sum(octet_length(c.doc) + octet_length(c.logs) + ` +
    `c.content_json_bytes + ${TASK_TEXT_OVERHEAD}) OVER w AS running ` +
    `FROM (${candidates}) AS c WINDOW w AS (ORDER BY c.id DESC)`;
  // A task past the budget gets a null doc, so its text is null and string_agg leaves it out.
  const fitting =
    `SELECT r.id, r.state, r.created_at, r.logs, ` +
    `CASE WHEN r.n > 1 AND r.running > ${budgetBytes} THEN NULL WHEN r.content_bytes = 0 THEN r.doc ` +
    `ELSE ${documentWithContent('r')}::text END AS doc FROM (${measured}) AS r`;
  return (
    `SELECT string_agg(${VIEW_JSON.FULL}, E',\\n') AS tasks, count(v.doc)::int AS found, ` +
    `count(*)::int AS candidates FROM (${fitting}) AS v`
  );
}

/**
 * Greater than every task id the broker makes (UUIDv7 ids begin with their creation time): "no cursor" in
 * minimalPagesSql. Only a row inserted by hand with this very id would be left off a first page.
 */
export const NO_CURSOR = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * Several submitters' MINIMAL pages in one statement, one row per page (`n`, its 1-based place in the
 * parameters, with `tasks` and `found` as in viewPageSql): page n holds the tasks of submitter `$1[n]` older
 * than `$2[n]` (NO_CURSOR for a first page), at most `limit` of them. Each page is the same index-only walk
 * down (submitter_id, id) INCLUDE (state) as viewPageSql's; the statement's own costs (a round trip,
 * planning, a transaction) are paid once for all of them.
 *
 * MINIMAL only, with `limit` written in the text: the planner then costs each page at a few rows. A LIMIT
 * taken from the parameters is costed at a tenth of the submitter's tasks, and with BASIC's jsonb edits a
 * statement so costed walks the primary key instead and is JIT-compiled on every run (a quarter of a
 * second, measured at a million tasks).
 */
export function minimalPagesSql(limit: number): string {
  const page = viewPageSql('MINIMAL', 'submitter_id = k.submitter_id AND id < k.before_id', limit);
  return (
    `SELECT k.n::int AS n, p.tasks, p.found ` +
    `FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS k(submitter_id, before_id, n) ` +
    `CROSS JOIN LATERAL (${page}) AS p`
  );
}

/** A page of tasks as the JSON text of their views, comma-separated, newest first, without brackets. */
export interface TaskPageJson {
  tasks: string;
  /** The id of the page's last (oldest) task, when another page follows. */
  nextAfterId?: string;
}

/**
 * The first `pageSize` tasks of a viewPageSql row, and the id of the last of them if more were found; for
 * a fullPageSql row whose budget cut it (`found` below `candidates`), all its tasks and the last one's id.
 */
export function pageOf(
  row: { tasks: string | null; found: number; candidates?: number },
  pageSize: number,
): TaskPageJson {
  if (row.tasks === null) return { tasks: '' };
  const cut = row.candidates !== undefined && row.found < row.candidates;
  if (!cut && row.found <= pageSize) return { tasks: row.tasks };
  const tasks = cut ? row.tasks : row.tasks.slice(0, row.tasks.lastIndexOf(PAGE_SEPARATOR));
  const last = tasks.lastIndexOf(PAGE_SEPARATOR);
  // Each task's text starts with {"id":" and the 36 characters of its id.
  const idAt = (last < 0 ? 0 : last + PAGE_SEPARATOR.length) + '{"id":"'.length;
  return { tasks, nextAfterId: tasks.slice(idAt, idAt + 36) };
}
