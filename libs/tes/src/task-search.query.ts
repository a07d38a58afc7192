import { FieldError, isUuid, ValidationFailedError } from '@constellation/common';
import { one, pageSizeOf, stateOf } from './list-query';
import type { SearchCursor } from './task-search.repository';
import type { TesState } from './tes.types';

/** GET /api/v1/tasks, checked: every filter optional, all of them ANDed. */
export interface TaskSearchQuery {
  /** A principal's id or name. */
  submitter?: string;
  /** A site's id or slug: the site of the task's current (or last) attempt. */
  site?: string;
  state?: TesState;
  namePrefix?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  pageSize: number;
  /** Keyset cursor: only tasks older than this one. */
  after?: SearchCursor;
}

const TOKEN = /^s1\.(\d{1,19})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Opaque to clients: the last task's creation time (microseconds) and id, versioned, base64url-encoded. */
export function encodeSearchToken(c: SearchCursor): string {
  return Buffer.from(`s1.${c.createdAtMicros}.${c.id}`, 'utf8').toString('base64url');
}

function searchCursor(q: Record<string, unknown>, errors: FieldError[]): SearchCursor | undefined {
  const token = one(q, 'page_token', errors);
  if (token === undefined || token === '') return undefined;
  const m = /^[A-Za-z0-9_-]{1,200}$/.test(token)
    ? TOKEN.exec(Buffer.from(token, 'base64url').toString('utf8'))
    : null;
  if (m) return { createdAtMicros: m[1], id: m[2] };
  errors.push({ path: 'page_token', reason: 'is not a page token of this search' });
  return undefined;
}

export const SEARCH_PAGE_SIZE_DEFAULT = 50;

// RFC 3339 with a zone, or a bare date (midnight UTC): what people type and what the console sends.
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/i;

function instant(q: Record<string, unknown>, key: string, errors: FieldError[]): Date | undefined {
  const raw = one(q, key, errors);
  if (raw === undefined || raw === '') return undefined;
  const at = INSTANT.test(raw) ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    errors.push({
      path: key,
      reason: 'must be a date-time with a zone (RFC 3339, e.g. 2026-12-06T08:00:00Z) or a date (2026-12-06)',
    });
    return undefined;
  }
  return at;
}

/** A principal name or site slug: short text; a UUID is taken as an id. */
function reference(q: Record<string, unknown>, key: string, errors: FieldError[]): string | undefined {
  const raw = one(q, key, errors);
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > 200) {
    errors.push({ path: key, reason: 'must be at most 200 characters' });
    return undefined;
  }
  return isUuid(raw) ? raw.toLowerCase() : raw;
}

export function parseTaskSearchQuery(q: Record<string, unknown>): TaskSearchQuery {
  const errors: FieldError[] = [];
  const out: TaskSearchQuery = {
    submitter: reference(q, 'submitter', errors),
    site: reference(q, 'site', errors),
    createdAfter: instant(q, 'created_after', errors),
    createdBefore: instant(q, 'created_before', errors),
    state: stateOf(q, errors),
    pageSize: pageSizeOf(q, SEARCH_PAGE_SIZE_DEFAULT, errors),
    after: searchCursor(q, errors),
  };
  const namePrefix = one(q, 'name_prefix', errors);
  if (namePrefix !== undefined && namePrefix !== '') out.namePrefix = namePrefix;
  if (out.createdAfter && out.createdBefore && out.createdAfter >= out.createdBefore)
    errors.push({ path: 'created_before', reason: 'must be later than created_after' });
  const known = new Set([
    'submitter',
    'site',
    'state',
    'name_prefix',
    'created_after',
    'created_before',
    'page_size',
    'page_token',
  ]);
  // A misspelt filter silently ignored would answer a wider search than the caller asked for.
  for (const key of Object.keys(q))
    if (!known.has(key)) errors.push({ path: key, reason: 'is not a parameter of this search' });
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return out;
}
