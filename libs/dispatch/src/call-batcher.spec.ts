import { CallBatcher } from './call-batcher';

describe('CallBatcher', () => {
  it('sends the calls of one turn together, and those made while a batch runs in the next batch', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new CallBatcher<number, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => `done ${i}`);
    }, 10);
    const first = [batcher.call(1), batcher.call(2)];
    await new Promise((r) => setImmediate(r));
    const second = [batcher.call(3), batcher.call(4), batcher.call(5)];
    expect(batches).toEqual([[1, 2]]);
    release();
    expect(await Promise.all([...first, ...second])).toEqual([
      'done 1',
      'done 2',
      'done 3',
      'done 4',
      'done 5',
    ]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('splits what waits into batches of at most maxBatch', async () => {
    const batches: number[][] = [];
    const batcher = new CallBatcher<number, number>(async (items) => {
      batches.push(items);
      return items;
    }, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.call(i)))).toEqual([1, 2, 3, 4, 5]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails every call of a failed batch, and goes on with the next', async () => {
    let fail = true;
    const batcher = new CallBatcher<number, number>(async (items) => {
      if (fail) throw new Error('database unreachable');
      return items;
    }, 10);
    const failed = [batcher.call(1), batcher.call(2)].map((p) => p.catch((err: Error) => err.message));
    expect(await Promise.all(failed)).toEqual(['database unreachable', 'database unreachable']);
    fail = false;
    expect(await batcher.call(3)).toBe(3);
  });
});
