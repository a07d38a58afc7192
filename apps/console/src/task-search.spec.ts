import {
  EMPTY_SEARCH,
  FIELD_OF_PARAM,
  isoToLocalInput,
  localInputToIso,
  queryToSearch,
  searchApiUrl,
  searchToQuery,
} from './task-search';

describe('task search form, page URL and API call', () => {
  it('puts only the fields that are set into the query string, times as instants', () => {
    const local = '2026-12-06T08:30';
    const q = searchToQuery({
      ...EMPTY_SEARCH,
      state: 'RUNNING',
      site: ' de-freiburg ',
      createdAfter: local,
    });
    const p = new URLSearchParams(q);
    expect([...p.keys()]).toEqual(['state', 'site', 'created_after']);
    expect(p.get('site')).toBe('de-freiburg');
    expect(p.get('created_after')).toBe(new Date(local).toISOString());
  });

  it('reads the form back from a shared URL', () => {
    const form = {
      ...EMPTY_SEARCH,
      submitter: 'galaxy-eu',
      namePrefix: 'bwa',
      createdBefore: '2026-12-06T09:00',
    };
    expect(queryToSearch(searchToQuery(form))).toEqual(form);
    expect(queryToSearch('')).toEqual(EMPTY_SEARCH);
  });

  it('calls the API with the search, a page size and the page token, and nothing else', () => {
    const url = searchApiUrl('state=QUEUED&utm_source=mail&site=', 'abc', 50);
    expect(url).toBe('/api/v1/tasks?state=QUEUED&page_size=50&page_token=abc');
  });

  it('converts between datetime-local values and instants, and ignores unreadable ones', () => {
    const iso = new Date(2026, 11, 6, 8, 30).toISOString();
    expect(isoToLocalInput(iso)).toBe('2026-12-06T08:30');
    expect(localInputToIso('2026-12-06T08:30')).toBe(iso);
    expect(localInputToIso('')).toBe('');
    expect(localInputToIso('soon')).toBe('');
    expect(isoToLocalInput('soon')).toBe('');
  });

  it("maps the API's field error paths to form fields", () => {
    expect(FIELD_OF_PARAM.created_after).toBe('createdAfter');
    expect(FIELD_OF_PARAM.name_prefix).toBe('namePrefix');
  });
});
