import { finalReport } from './final-report';

describe('finalReport', () => {
  it('says where a failed site’s tasks ended and ends with the summary line', () => {
    const states = new Map([
      ['a', 'COMPLETE'],
      ['b', 'SYSTEM_ERROR'],
      ['c', 'RUNNING'],
    ]);
    const lines = finalReport(
      { submitted: 10, queued: 0, running: 1, complete: 8, failed: 1, lost: [] },
      states,
      new Map([['eu-pulsar-it01', { at: 7.4, ids: ['a', 'b', 'c'] }]]),
      { count: 0, last: undefined },
    );
    expect(lines).toEqual([
      'demo: eu-pulsar-it01 held 3 task(s) when it failed at 7 s; 1 of them complete elsewhere, 1 failed, 1 unfinished',
      'demo: 1 task(s) still in flight after the drain (0 queued, 1 running)',
      'demo: 10 submitted, 8 complete, 1 failed, 0 lost',
    ]);
  });

  it('names refused submissions and lost tasks', () => {
    const lines = finalReport(
      { submitted: 2, queued: 0, running: 0, complete: 1, failed: 0, lost: ['x'] },
      new Map(),
      new Map(),
      { count: 3, last: 'POST /ga4gh/tes/v1/tasks: HTTP 400' },
    );
    expect(lines).toEqual([
      'demo: 3 submission(s) refused by the broker; last: POST /ga4gh/tes/v1/tasks: HTTP 400',
      'demo: lost tasks: x',
      'demo: 2 submitted, 1 complete, 0 failed, 1 lost',
    ]);
  });
});
