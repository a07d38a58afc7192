import { GroupWriter } from './group-writer';

describe('GroupWriter', () => {
  function writer(limits = { maxItems: 100, maxBytes: 1_000_000 }, failOn?: string) {
    const writes: string[][] = [];
    const w = new GroupWriter<string>(
      async (items) => {
        writes.push(items);
        await Promise.resolve();
        if (failOn === 'everything') throw new Error('database is down');
        if (failOn !== undefined && items.includes(failOn)) throw new Error(`cannot store ${failOn}`);
      },
      limits,
      (item) => item.length,
      (err) => (err as Error).message.startsWith('cannot store'),
    );
    return { w, writes };
  }

  it('writes what arrives in one loop turn as one group, and what comes later as the next', async () => {
    const { w, writes } = writer();
    await Promise.all(['a', 'b', 'c'].map((x) => w.add(x)));
    await w.add('d');
    expect(writes).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('when serial, writes one group at a time and gathers what arrives meanwhile into the next', async () => {
    const writes: string[][] = [];
    let inFlight = 0;
    let most = 0;
    // The first group's write is held open until the test lets it go, whatever the machine's speed.
    let letFirstGo: () => void = () => undefined;
    const firstHeld = new Promise<void>((r) => (letFirstGo = r));
    const w = new GroupWriter<string>(
      async (items) => {
        writes.push(items);
        inFlight++;
        most = Math.max(most, inFlight);
        if (writes.length === 1) await firstHeld;
        inFlight--;
      },
      { maxItems: 100, maxBytes: 1_000_000 },
      (item) => item.length,
      () => false,
      true,
    );
    const first = w.add('a');
    await new Promise((r) => setImmediate(r));
    // Three turns while 'a' is being written: one group after it.
    const later: Promise<void>[] = [];
    for (const x of ['b', 'c', 'd']) {
      later.push(w.add(x));
      await new Promise((r) => setImmediate(r));
    }
    expect(writes).toEqual([['a']]);
    letFirstGo();
    await Promise.all([first, ...later]);
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);
    expect(most).toBe(1);
  });

  it('splits a turn into groups of at most maxItems items and about maxBytes', async () => {
    const byCount = writer({ maxItems: 2, maxBytes: 1000 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => byCount.w.add(x)));
    expect(byCount.writes).toEqual([['a', 'b'], ['c', 'd'], ['e']]);

    const bySize = writer({ maxItems: 100, maxBytes: 5 });
    await Promise.all(['aaa', 'bb', 'c', 'dddddddd', 'e'].map((x) => bySize.w.add(x)));
    // An item larger than the limit still goes, alone.
    expect(bySize.writes).toEqual([['aaa', 'bb'], ['c'], ['dddddddd'], ['e']]);
  });

  it('fails only the caller whose item cannot be stored: a failed group is retried item by item', async () => {
    const { w, writes } = writer(undefined, 'bad');
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((x) => w.add(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('cannot store bad'));
    expect(writes).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('fails the whole group at once, without retries, on an error no single item causes', async () => {
    const { w, writes } = writer(undefined, 'everything');
    const results = await Promise.allSettled(['a', 'b', 'c'].map((x) => w.add(x)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(writes).toEqual([['a', 'b', 'c']]);
  });
});
