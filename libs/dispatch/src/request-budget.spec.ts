import { RequestBudget } from './request-budget';

describe('RequestBudget', () => {
  it('grants a second of requests at once, then as many as the rate refills, per key', () => {
    let clock = 0;
    const budget = new RequestBudget(5, () => clock);
    expect(budget.take('a', 8)).toBe(5);
    expect(budget.take('a', 8)).toBe(0);
    expect(budget.take('b', 2)).toBe(2);
    clock = 400;
    expect(budget.take('a', 8)).toBe(2);
    clock = 10_000;
    // Idle time never builds a burst beyond one second's worth.
    expect(budget.take('a', 100)).toBe(5);
  });

  it('hands out turns one interval apart, after every earlier turn', () => {
    let clock = 1000;
    const budget = new RequestBudget(4, () => clock);
    expect(budget.queueing('a')).toBe(false);
    expect([budget.nextTurn('a'), budget.nextTurn('a'), budget.nextTurn('a')]).toEqual([1250, 1500, 1750]);
    expect(budget.queueing('a')).toBe(true);
    clock = 1600;
    expect(budget.nextTurn('a')).toBe(2000);
    clock = 5000;
    expect(budget.queueing('a')).toBe(false);
    expect(budget.nextTurn('a')).toBe(5250);
  });
});
