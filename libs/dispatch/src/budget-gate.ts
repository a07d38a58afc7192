import { setTimeout as delay } from 'node:timers/promises';
import { BudgetWait, type RequestGate } from '@constellation/adapters';
import type { RequestBudget } from './request-budget';

/**
 * Longest a step waits for a site's budget before it hands its task back to be tried at the budget's next turn:
 * short against a lease (so the claim never runs out while it waits) and against a step's few workers (so one
 * crowded site does not hold every worker of a step up).
 */
export const BUDGET_WAIT_MS = 2_000;

/**
 * The gate adapters await before a status request to one site: takes from the site's shared budget, and when it
 * is empty waits for the next turn the budget hands out and takes again, up to `maxWaitMs`; past that, rejects
 * with a BudgetWait naming the turn, so the caller's step retries then. Tokens taken before it gives up are
 * spent, never handed back: the budget errs towards asking the site less.
 */
export class BudgetGate implements RequestGate {
  constructor(
    private readonly budget: RequestBudget,
    private readonly site: { id: string; slug: string },
    private readonly maxWaitMs = BUDGET_WAIT_MS,
  ) {}

  async take(count: number): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    let needed = count;
    for (;;) {
      const { granted, turns, now } = await this.budget.take(this.site.id, needed);
      needed -= granted;
      if (needed <= 0) return;
      const turn = turns[0];
      // The turn is on the database's clock: the wait is counted from the take, so this replica's clock
      // being off PostgreSQL's changes nothing.
      const waitMs = Math.max(0, turn.getTime() - now.getTime());
      if (Date.now() + waitMs > deadline) throw new BudgetWait(turn, this.site.slug);
      await delay(waitMs);
    }
  }
}
