import { decisionText, whyText } from './placement-text';
import type { Candidate, PlacementRecord } from './types';

const candidate = (siteId: string, over: Partial<Candidate> = {}): Candidate => ({
  siteId,
  slug: siteId,
  feasible: true,
  placeable: true,
  queueWaitS: 0,
  transferS: 5,
  runS: 200,
  totalS: 205,
  wanBytes: 0,
  ...over,
});

const record = (over: Partial<PlacementRecord> = {}): PlacementRecord => ({
  policy: 'ect',
  decided_at: '2026-12-06T10:00:00Z',
  attempt: 1,
  decision: 'place',
  site_id: 'a',
  site: 'de-freiburg',
  candidates: [candidate('a'), candidate('b', { totalS: 305 })],
  ...over,
});

describe('placement explanation text', () => {
  it.each([
    [
      'a placed task with the run time placement expected',
      record({ expected_run_s: 7500 }),
      'placed on de-freiburg, expected to run 2 h 5 min',
    ],
    ['a record from before expected_run_s was stored', record(), 'placed on de-freiburg'],
    [
      'a waiting task',
      record({ decision: 'wait', site_id: undefined, site: undefined }),
      'waiting: no feasible site can take it now',
    ],
    [
      'an infeasible task',
      record({ decision: 'infeasible', site_id: undefined, site: undefined }),
      'no site could ever run it',
    ],
  ])('%s', (_name, r, want) => {
    expect(decisionText(r)).toBe(want);
  });

  it('says why each candidate won or lost', () => {
    const r = record();
    expect(whyText(r.candidates[0], r)).toBe('chosen: earliest estimated completion');
    expect(whyText(r.candidates[1], r)).toBe('later by 1 min 40 s');
    expect(whyText(candidate('c', { placeable: false, blocked: 'draining' }), r)).toBe(
      'draining: takes no new tasks',
    );
    expect(
      whyText(
        candidate('d', { feasible: false, unmet: [{ requirement: 'memory', detail: '64 GiB > 32 GiB' }] }),
        r,
      ),
    ).toBe('memory: 64 GiB > 32 GiB');
  });
});
