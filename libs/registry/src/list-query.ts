import { FieldValidator, isCountryCode, isUuid } from '@constellation/common';

export interface PageRequest {
  pageSize: number;
  /** Id of the last row of the previous page (keyset paging over time-ordered UUIDv7 ids). */
  after: string | undefined;
}

/** Same bound as the TES list (ARCHITECTURE.md: 2048 or more is a 400). */
export const MAX_PAGE_SIZE = 2047;

export function encodePageToken(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** One filter of a list endpoint: its query name and how to read its value. */
export type FilterReader<T> = (v: FieldValidator, value: string, path: string) => T | undefined;

export const filterOneOf =
  <T extends string>(allowed: readonly T[]): FilterReader<T> =>
  (v, value, path) =>
    v.oneOf(value, path, allowed);

export const filterCountry: FilterReader<string> = (v, value, path) =>
  isCountryCode(value)
    ? value
    : v.fail(path, 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE');

export const filterUuid: FilterReader<string> = (v, value, path) =>
  isUuid(value) ? value.toLowerCase() : v.fail(path, 'must be a UUID');

/**
 * Reads `page_size`, `page_token` and the given filters from a query string; anything else is a 400, so a
 * misspelt filter never silently returns everything.
 */
export function readListQuery<F extends Record<string, FilterReader<unknown>>>(
  query: Record<string, unknown>,
  defaultPageSize: number,
  filters: F,
): { page: PageRequest; filters: { [K in keyof F]?: F[K] extends FilterReader<infer T> ? T : never } } {
  const v = new FieldValidator();
  const out: Record<string, unknown> = {};
  let pageSize = defaultPageSize;
  let after: string | undefined;
  for (const [key, raw] of Object.entries(query)) {
    if (typeof raw !== 'string') {
      v.fail(key, 'must be given once, as a plain value');
      continue;
    }
    if (key === 'page_size') {
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PAGE_SIZE) {
        v.fail(key, `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
      } else pageSize = Number(raw);
    } else if (key === 'page_token') {
      const decoded = Buffer.from(raw, 'base64url').toString('utf8');
      if (!isUuid(decoded)) v.fail(key, 'is not a page token this server issued');
      else after = decoded.toLowerCase();
    } else if (Object.prototype.hasOwnProperty.call(filters, key)) {
      const value = filters[key](v, raw, key);
      if (value !== undefined) out[key] = value;
    } else {
      v.fail(key, 'is not a known query parameter');
    }
  }
  v.throwIfInvalid();
  return { page: { pageSize, after }, filters: out as never };
}
