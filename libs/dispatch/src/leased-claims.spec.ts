import { LeasedClaims, workEachClaimed } from './leased-claims';

describe('the claim loop', () => {
  it("hands each piece of work the lease of its own row, and leaves a failed row's lease alone", async () => {
    const due = ['a', 'b', 'c'];
    const calls: string[] = [];
    const claims: LeasedClaims<string> = {
      claim: async () => due.shift(),
      renew: async (row) => {
        calls.push(`renew ${row}`);
        return row !== 'b';
      },
      release: async (row) => void calls.push(`release ${row}`),
    };
    const failed: string[] = [];
    const taken = await workEachClaimed(
      claims,
      1,
      10,
      async (row, lease) => {
        if (row === 'c') throw new Error('site answered nonsense');
        if (!(await lease.renew())) await lease.release();
      },
      (row) => failed.push(row),
    );
    expect(taken).toBe(3);
    expect(calls).toEqual(['renew a', 'renew b', 'release b']);
    expect(failed).toEqual(['c']);
  });
});
