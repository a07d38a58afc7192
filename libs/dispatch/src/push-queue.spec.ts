import { PushOutcome, PushQueue } from './push-queue';

const options = { retryMs: 5, maxTries: 3, concurrency: 2, maxPending: 10, unmatchedMs: 60_000 };

async function until(what: string, done: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('PushQueue', () => {
  it('applies news at once, tries a leased task again, and gives up after maxTries', async () => {
    const calls: string[] = [];
    const answers: Record<string, PushOutcome[]> = { a: ['applied'], b: ['busy', 'applied'], c: ['busy'] };
    const queue = new PushQueue(
      async (ref) => {
        calls.push(ref);
        return answers[ref].length > 1 ? (answers[ref].shift() as PushOutcome) : answers[ref][0];
      },
      options,
      () => undefined,
    );
    queue.add('a');
    queue.add('b');
    queue.add('c');
    await until('the queue to drain', () => queue.size === 0);
    expect(calls.filter((r) => r === 'a')).toHaveLength(1);
    expect(calls.filter((r) => r === 'b')).toHaveLength(2);
    expect(calls.filter((r) => r === 'c')).toHaveLength(3);
    queue.close();
  });

  it('applies once more news that came while the same ref was applied', async () => {
    let release: () => void = () => undefined;
    const calls: string[] = [];
    const queue = new PushQueue(
      async (ref) => {
        calls.push(ref);
        if (calls.length === 1) await new Promise<void>((r) => (release = r));
        return 'applied';
      },
      options,
      () => undefined,
    );
    queue.add('a');
    queue.add('a');
    queue.add('a');
    release();
    await until('the queue to drain', () => queue.size === 0 && calls.length === 2);
    expect(calls).toEqual(['a', 'a']);
    queue.close();
  });

  it('keeps news no task had yet for a submission that records the ref just after', async () => {
    const known = new Set<string>();
    const calls: string[] = [];
    const queue = new PushQueue(
      async (ref) => {
        calls.push(ref);
        return known.has(ref) ? 'applied' : 'none';
      },
      options,
      () => undefined,
    );
    queue.add('job-1');
    await until('the first try', () => queue.size === 0);
    known.add('job-1');
    queue.recorded('job-1');
    queue.recorded('job-2');
    await until('the second try', () => calls.length === 2 && queue.size === 0);
    expect(calls).toEqual(['job-1', 'job-1']);
    queue.close();
  });
  it('applies news again when its ref is recorded while a try that found no task is under way', async () => {
    const known = new Set<string>();
    const calls: string[] = [];
    let answer: () => void = () => undefined;
    const queue = new PushQueue(
      async (ref) => {
        calls.push(ref);
        // The read was made before the submission's record committed: it finds no task.
        const found = known.has(ref);
        if (calls.length === 1) await new Promise<void>((r) => (answer = r));
        return found ? 'applied' : 'none';
      },
      options,
      () => undefined,
    );
    queue.add('job-1');
    await until('the first try under way', () => calls.length === 1);
    known.add('job-1');
    queue.recorded('job-1');
    answer();
    await until('the second try', () => calls.length === 2 && queue.size === 0);
    expect(calls).toEqual(['job-1', 'job-1']);
    queue.close();
  });
});
