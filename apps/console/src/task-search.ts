// The tasks page's search: its form, the page URL's query string (so a search can be shared) and the
// API call (GET /api/v1/tasks) are three forms of the same filters.

export interface TaskSearchForm {
  state: string;
  namePrefix: string;
  submitter: string;
  site: string;
  /** As a datetime-local input holds it: local wall-clock time, "YYYY-MM-DDTHH:mm". */
  createdAfter: string;
  createdBefore: string;
}

export const EMPTY_SEARCH: TaskSearchForm = {
  state: '',
  namePrefix: '',
  submitter: '',
  site: '',
  createdAfter: '',
  createdBefore: '',
};

/** Query parameter of each form field: the API's own names, in the page URL too. */
const PARAMS: Record<keyof TaskSearchForm, string> = {
  state: 'state',
  namePrefix: 'name_prefix',
  submitter: 'submitter',
  site: 'site',
  createdAfter: 'created_after',
  createdBefore: 'created_before',
};

/** The API's field error path → the form field it belongs to. */
export const FIELD_OF_PARAM: Record<string, keyof TaskSearchForm> = Object.fromEntries(
  Object.entries(PARAMS).map(([field, param]) => [param, field as keyof TaskSearchForm]),
);

const two = (n: number) => String(n).padStart(2, '0');

/** An instant as a datetime-local value in the browser's zone. */
export function isoToLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** A datetime-local value (the browser's zone) as an instant; '' when empty or unreadable. */
export function localInputToIso(local: string): string {
  if (local === '') return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** The page URL's query string for a search: only the fields that are set, times as instants. */
export function searchToQuery(form: TaskSearchForm): string {
  const p = new URLSearchParams();
  for (const [field, param] of Object.entries(PARAMS) as [keyof TaskSearchForm, string][]) {
    const raw = form[field].trim();
    const value = field === 'createdAfter' || field === 'createdBefore' ? localInputToIso(raw) : raw;
    if (value !== '') p.set(param, value);
  }
  return p.toString();
}

/** The form for a page URL's query string (a shared link, the back button). */
export function queryToSearch(query: string): TaskSearchForm {
  const p = new URLSearchParams(query);
  const form = { ...EMPTY_SEARCH };
  for (const [field, param] of Object.entries(PARAMS) as [keyof TaskSearchForm, string][]) {
    const value = p.get(param) ?? '';
    form[field] = field === 'createdAfter' || field === 'createdBefore' ? isoToLocalInput(value) : value;
  }
  return form;
}

/** The API call for the page URL's query string and a page token. */
export function searchApiUrl(query: string, pageToken: string, pageSize = 50): string {
  const from = new URLSearchParams(query);
  const p = new URLSearchParams();
  // Only the search's own parameters go on: anything else in a pasted URL would be a 400.
  for (const param of Object.values(PARAMS)) {
    const v = from.get(param);
    if (v) p.set(param, v);
  }
  p.set('page_size', String(pageSize));
  if (pageToken) p.set('page_token', pageToken);
  return `/api/v1/tasks?${p}`;
}
