import { servedPlacement, storedPlacement } from './placement-storage';

const NO_WAIT = 'no wait: the site has room for the task';
const NO_INPUTS = 'no inputs to fetch';
const DEFAULT_RUN = 'default 3600 s: no history of alpine (echo); site speed 1: no history';

function candidate(i: number, sources?: Record<string, string>): Record<string, unknown> {
  return {
    siteId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    slug: `site-${i}`,
    feasible: sources !== undefined,
    placeable: sources !== undefined,
    queueWaitS: 0,
    transferS: 0,
    runS: 3600,
    totalS: 3600,
    wanBytes: 0,
    ...(sources ? { sources } : { unmet: [{ requirement: 'cores', detail: 'needs 8, has 4' }] }),
  };
}

/** Twenty feasible candidates sharing their words but one, and one infeasible (no sources). */
const record = {
  policy: 'ect',
  decided_at: '2026-12-06T16:00:00.000Z',
  attempt: 1,
  decision: 'place',
  site_id: '00000000-0000-4000-8000-000000000000',
  site: 'site-0',
  expected_run_s: 3600,
  candidates: [
    ...Array.from({ length: 20 }, (_, i) =>
      candidate(i, {
        runS: i === 7 ? 'learned from 3 run(s) of alpine (echo) at this site' : DEFAULT_RUN,
        queueWaitS: NO_WAIT,
        transferS: NO_INPUTS,
      }),
    ),
    candidate(20),
  ],
};

describe('the placement record as stored in task.placement', () => {
  it('names each distinct source text once and each candidate its three by position', () => {
    const stored = storedPlacement(record);
    expect(stored.source_texts).toEqual([
      NO_WAIT,
      NO_INPUTS,
      DEFAULT_RUN,
      'learned from 3 run(s) of alpine (echo) at this site',
    ]);
    const candidates = stored.candidates as Record<string, unknown>[];
    const { sources: _sources, ...terms } = record.candidates[0];
    expect(candidates[0]).toEqual({ ...terms, source_refs: [0, 1, 2] });
    expect(candidates[7].source_refs).toEqual([0, 1, 3]);
    expect(candidates[20]).toEqual(candidate(20));
    expect(candidates.some((c) => 'sources' in c)).toBe(false);
    // The terms stay in the candidates: SQL reads them (take-back's expected wait, running tasks' run time).
    expect(candidates.map((c) => c.queueWaitS)).toEqual(record.candidates.map((c) => c.queueWaitS));
  });

  it('is served as placement made it', () => {
    expect(servedPlacement(storedPlacement(record))).toEqual(record);
  });

  it('is smaller than the record with every candidate spelling out its sources', () => {
    const full = JSON.stringify(record).length;
    const stored = JSON.stringify(storedPlacement(record)).length;
    // 7,331 bytes against 4,415 here; the ids, slugs and numbers of 21 candidates are most of what is left.
    expect(stored).toBeLessThan(full * 0.65);
  });

  it('keeps a stored record as it is when stored again (a take-back adds its note to the stored form)', () => {
    const stored = storedPlacement(record);
    const noted = { ...stored, taken_back: { reason: 'stuck' } };
    expect(storedPlacement(noted)).toBe(noted);
    expect(servedPlacement(noted)).toEqual({ ...record, taken_back: { reason: 'stuck' } });
  });

  it.each([
    { name: 'a record stored before source_texts', stored: record },
    { name: 'a failed placement without candidates', stored: { decision: 'infeasible', candidates: [] } },
    { name: 'a take-back note alone', stored: { taken_back: { reason: 'stuck' } } },
  ])('serves $name as it was stored', ({ stored }) => {
    expect(servedPlacement(stored)).toBe(stored);
  });

  it('stores a record whose candidates explain nothing as it is', () => {
    const failed = { decision: 'infeasible', reason: 'no site has 64 cores', candidates: [candidate(20)] };
    expect(storedPlacement(failed)).toBe(failed);
  });
});
