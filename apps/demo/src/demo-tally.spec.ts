import { tally } from './demo-tally';

describe('tally', () => {
  const accepted = ['q', 'i', 'r-held', 'r-nowhere', 'c', 'e', 's', 'gone'];
  const states = new Map([
    ['q', 'QUEUED'],
    ['i', 'INITIALIZING'],
    ['r-held', 'RUNNING'],
    ['r-nowhere', 'RUNNING'],
    ['c', 'COMPLETE'],
    ['e', 'EXECUTOR_ERROR'],
    ['s', 'SYSTEM_ERROR'],
  ]);

  it('counts what the broker says while the sites are not checked', () => {
    expect(tally(accepted, states, undefined)).toEqual({
      submitted: 8,
      queued: 1,
      running: 3,
      complete: 1,
      failed: 2,
      lost: ['gone'],
    });
  });

  it('counts as lost a task RUNNING at the broker that no site holds, not one still INITIALIZING', () => {
    const t = tally(accepted, states, new Set(['r-held']));
    expect(t.lost).toEqual(['r-nowhere', 'gone']);
    expect(t.running).toBe(2);
  });
});
