import type { DispatchTask } from '@constellation/tes';
import { attemptContext } from './attempt-context';
import { decideAttempt } from './attempt-outcome';

const config = { maxAttempts: 3, maxPreemptions: 5 };
const task = (over: Partial<DispatchTask>): DispatchTask =>
  ({
    state: 'INITIALIZING',
    document: { executors: [], inputs: [], outputs: [], volumes: [], tags: {} },
    attempt: 1,
    preemptions: 0,
    takeBacks: 0,
    ...over,
  }) as DispatchTask;
const lost = { kind: 'lost', reason: 'the site no longer knows it' } as const;

describe('attemptContext: what the attempt limit counts', () => {
  it.each([
    { name: 'three failed attempts: gives up', over: { attempt: 3 }, want: 'finish' },
    {
      name: 'the third attempt after two take-backs: its first failure',
      over: { attempt: 3, takeBacks: 2 },
      want: 'requeue',
    },
    {
      name: 'after a preemption and a take-back',
      over: { attempt: 4, preemptions: 1, takeBacks: 1 },
      want: 'requeue',
    },
    { name: 'take-backs do not hide failures', over: { attempt: 4, takeBacks: 1 }, want: 'finish' },
  ])('$name', ({ over, want }) => {
    expect(decideAttempt(attemptContext(task(over), config), lost).action).toBe(want);
  });
});
