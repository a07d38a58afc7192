import { claimEach, mapConcurrent } from './bounded-workers';

describe('bounded workers', () => {
  it('claims one item per worker at a time, up to the limit, and reports failures without stopping', async () => {
    const queue = Array.from({ length: 10 }, (_, i) => i);
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    const failed: number[] = [];
    const taken = await claimEach(
      async () => queue.shift(),
      3,
      7,
      async (n) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (n === 2) throw new Error('boom');
        done.push(n);
      },
      (n) => failed.push(n),
    );
    expect(taken).toBe(7);
    expect(most).toBe(3);
    expect(failed).toEqual([2]);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(queue).toEqual([7, 8, 9]);
  });

  it('stops claiming once nothing is left', async () => {
    const queue = [1];
    const seen: number[] = [];
    const taken = await claimEach(
      async () => queue.shift(),
      4,
      100,
      async (n) => void seen.push(n),
      () => undefined,
    );
    expect(taken).toBe(1);
    expect(seen).toEqual([1]);
  });

  it('runs every item even when some fail', async () => {
    const seen: number[] = [];
    await mapConcurrent(
      [1, 2, 3],
      2,
      async (n) => {
        if (n === 1) throw new Error('x');
        seen.push(n);
      },
      () => undefined,
    );
    expect(seen).toEqual([2, 3]);
  });
});
