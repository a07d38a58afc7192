import { isBudgetWait } from '@constellation/adapters';
import { BudgetGate } from './budget-gate';
import type { BudgetTake, RequestBudget } from './request-budget';

/** A budget that answers the given takes in order and records what was asked. */
function scripted(answers: ((wanted: number) => BudgetTake)[]): { budget: RequestBudget; asked: number[] } {
  const asked: number[] = [];
  const budget = {
    take: (_siteId: string, wanted: number) => {
      asked.push(wanted);
      const next = answers.shift();
      if (!next) throw new Error('no more takes were expected');
      return Promise.resolve(next(wanted));
    },
  } as unknown as RequestBudget;
  return { budget, asked };
}

const site = { id: 'site-1', slug: 'alpha' };
const inMs = (ms: number) => new Date(Date.now() + ms);

describe('BudgetGate', () => {
  it('lets the requests through at once when the budget grants them all', async () => {
    const { budget, asked } = scripted([(wanted) => ({ granted: wanted, turns: [], now: new Date() })]);
    await new BudgetGate(budget, site, 1_000).take(3);
    expect(asked).toEqual([3]);
  });

  it('waits for the next turn and takes only what is still missing', async () => {
    const { budget, asked } = scripted([
      () => ({ granted: 1, turns: [inMs(50), inMs(100)], now: new Date() }),
      () => ({ granted: 2, turns: [], now: new Date() }),
    ]);
    const started = Date.now();
    await new BudgetGate(budget, site, 1_000).take(3);
    expect(asked).toEqual([3, 2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it("counts the wait on the database's clock, whichever way this replica's clock is off", async () => {
    for (const skewMs of [3_600_000, -3_600_000]) {
      const dbNow = () => new Date(Date.now() + skewMs);
      const { budget, asked } = scripted([
        () => ({ granted: 0, turns: [new Date(dbNow().getTime() + 60)], now: dbNow() }),
        () => ({ granted: 1, turns: [], now: dbNow() }),
      ]);
      const started = Date.now();
      await new BudgetGate(budget, site, 1_000).take(1);
      expect(asked).toEqual([1, 1]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(50);
      expect(Date.now() - started).toBeLessThan(900);
    }
  });

  it('gives up with a BudgetWait naming the turn when the turn is past its longest wait', async () => {
    const turn = inMs(5_000);
    const { budget } = scripted([() => ({ granted: 0, turns: [turn], now: new Date() })]);
    const err: unknown = await new BudgetGate(budget, site, 1_000).take(1).catch((e: unknown) => e);
    expect(isBudgetWait(err)).toBe(true);
    expect(isBudgetWait(err) && err.retryAt).toEqual(turn);
    expect(isBudgetWait(err) && err.kind).toBe('unreachable');
    expect(String(err)).toContain('alpha');
  });
});
