import { FieldError, textProblem, ValidationFailedError } from '@constellation/common';
import type { TaskPageJson } from './task-views';
import { TES_STATES, TES_VIEWS, TesState, TesView } from './tes.types';

export interface ParsedListQuery {
  view: TesView;
  namePrefix?: string;
  state?: TesState;
  tags: Array<[string, string]>;
  pageSize: number;
  beforeId?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN_PREFIX = 'v1.';

/** page_token is opaque to clients: the last id of the page, versioned and base64url-encoded. */
export function encodePageToken(lastId: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${lastId}`, 'utf8').toString('base64url');
}

/** A tesListTasksResponse's JSON text: the page's tasks, and the token of the next page when one follows. */
export function listTasksResponseJson(page: TaskPageJson): string {
  const token =
    page.nextAfterId === undefined ? '' : `,"next_page_token":"${encodePageToken(page.nextAfterId)}"`;
  return `{"tasks":[${page.tasks}]${token}}`;
}

function decodePageToken(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url').toString('utf8');
  if (!raw.startsWith(TOKEN_PREFIX)) return undefined;
  const id = raw.slice(TOKEN_PREFIX.length);
  return UUID.test(id) ? id : undefined;
}

type Query = Record<string, unknown>;

/** A query parameter given at most once, as valid text; problems go to `errors`. */
export function one(q: Query, key: string, errors: FieldError[]): string | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const bad = textProblem(v);
    if (!bad) return v;
    errors.push({ path: key, reason: bad });
    return undefined;
  }
  errors.push({ path: key, reason: 'must be given at most once' });
  return undefined;
}

function many(q: Query, key: string, errors: FieldError[]): string[] {
  const v = q[key];
  if (v === undefined) return [];
  const list =
    typeof v === 'string'
      ? [v]
      : Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? (v as string[])
        : undefined;
  if (list) {
    const bad = list.map(textProblem).find((p) => p !== undefined);
    if (!bad) return list;
    errors.push({ path: key, reason: bad });
    return [];
  }
  errors.push({ path: key, reason: 'must be a list of strings (repeat the parameter)' });
  return [];
}

/** `state`: a TES state, in any case. */
export function stateOf(q: Query, errors: FieldError[]): TesState | undefined {
  const state = one(q, 'state', errors);
  if (state === undefined || state === '') return undefined;
  if ((TES_STATES as readonly string[]).includes(state.toUpperCase())) return state.toUpperCase() as TesState;
  errors.push({ path: 'state', reason: `must be one of ${TES_STATES.join(', ')}` });
  return undefined;
}

/** `page_size`: 1 to 2047, as the TES spec bounds it (below 2048); `fallback` when absent. */
export function pageSizeOf(q: Query, fallback: number, errors: FieldError[]): number {
  const pageSize = one(q, 'page_size', errors);
  if (pageSize === undefined || pageSize === '') return fallback;
  if (!/^\d+$/.test(pageSize) || Number(pageSize) < 1 || Number(pageSize) >= 2048) {
    errors.push({
      path: 'page_size',
      reason: 'must be a whole number from 1 to 2047 (the spec bounds it below 2048)',
    });
    return fallback;
  }
  return Number(pageSize);
}

/** `page_token`: the id of the last task of the page before, as encodePageToken wrote it. */
function pageCursorOf(q: Query, errors: FieldError[]): string | undefined {
  const token = one(q, 'page_token', errors);
  if (token === undefined || token === '') return undefined;
  const id = decodePageToken(token);
  if (id === undefined) errors.push({ path: 'page_token', reason: 'is not a page token this server issued' });
  return id;
}

export function parseView(raw: unknown): TesView {
  if (raw === undefined || raw === '') return 'MINIMAL';
  if (typeof raw === 'string' && (TES_VIEWS as readonly string[]).includes(raw.toUpperCase())) {
    return raw.toUpperCase() as TesView;
  }
  throw new ValidationFailedError([{ path: 'view', reason: 'must be MINIMAL, BASIC or FULL' }]);
}

/** ListTasks query parameters, each checked; tag_key/tag_value are zipped by position, as the spec says. */
export function parseListQuery(q: Query, defaultPageSize: number): ParsedListQuery {
  const errors: FieldError[] = [];
  let view: TesView = 'MINIMAL';
  try {
    view = parseView(one(q, 'view', errors));
  } catch (err) {
    errors.push(...(err as ValidationFailedError).errors);
  }
  const out: ParsedListQuery = { view, tags: [], pageSize: defaultPageSize };

  const namePrefix = one(q, 'name_prefix', errors);
  if (namePrefix !== undefined && namePrefix !== '') out.namePrefix = namePrefix;

  out.state = stateOf(q, errors);

  const keys = many(q, 'tag_key', errors);
  const values = many(q, 'tag_value', errors);
  if (values.length > keys.length)
    errors.push({ path: 'tag_value', reason: 'has more values than tag_key has keys' });
  // The spec builds one map from the zipped lists, so a repeated key keeps its last value.
  const filter = new Map<string, string>();
  keys.forEach((key, i) => {
    if (key === '') errors.push({ path: `tag_key[${i}]`, reason: 'must not be empty' });
    else filter.set(key, values[i] ?? '');
  });
  out.tags = [...filter.entries()];

  out.pageSize = pageSizeOf(q, defaultPageSize, errors);
  out.beforeId = pageCursorOf(q, errors);

  if (errors.length > 0) throw new ValidationFailedError(errors);
  return out;
}
