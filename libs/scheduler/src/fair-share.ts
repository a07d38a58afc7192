/** A task waiting for capacity, as fair share needs it. */
export interface WaitingTask {
  taskId: string;
  submitterId: string;
  /** Seconds since the epoch. */
  queuedAt: number;
  /**
   * Within one submitter the earliest `dueAt` goes first (default `queuedAt`, so oldest first). Dispatch sets
   * queuedAt + the expected run time: short tasks overtake long ones that are waiting, yet every task keeps a
   * fixed key, and tasks queued after it minus their own run time cannot pass it, so none waits for ever.
   */
  dueAt?: number;
}

export interface ShareAccount {
  id: string;
  weight: number;
  /** Most running tasks; null for no limit. */
  quota: number | null;
  running: number;
}

export interface FairShareOrder {
  /** Task ids in the order dispatch should try to place them. */
  order: string[];
  /** Task ids whose submitter would exceed its quota if they ran: they keep waiting. */
  held: string[];
}

/** An unknown submitter or a zero weight still gets served, only after everyone with a real share. */
const MIN_WEIGHT = 1e-9;

/**
 * Orders waiting tasks so that submitters are served in proportion to their weights: each next slot goes to
 * the submitter with the lowest (running + already ordered + 1) / weight, its earliest-due task first, and nobody passes
 * its quota. Ties go to the larger weight, then to the lower submitter id, so the order is reproducible.
 */
export function fairShareOrder(
  waiting: readonly WaitingTask[],
  accounts: readonly ShareAccount[],
): FairShareOrder {
  const queues = new Map<string, WaitingTask[]>();
  for (const task of waiting) {
    const queue = queues.get(task.submitterId);
    if (queue) queue.push(task);
    else queues.set(task.submitterId, [task]);
  }
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const states = [...queues.entries()].map(([id, tasks]) => {
    tasks.sort(
      (a, b) =>
        (a.dueAt ?? a.queuedAt) - (b.dueAt ?? b.queuedAt) ||
        a.queuedAt - b.queuedAt ||
        (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0),
    );
    const account = byId.get(id);
    return {
      id,
      tasks,
      next: 0,
      weight: Math.max(MIN_WEIGHT, account?.weight ?? MIN_WEIGHT),
      quota: account?.quota ?? null,
      served: account?.running ?? 0,
    };
  });

  const order: string[] = [];
  const held: string[] = [];
  for (;;) {
    let best: (typeof states)[number] | undefined;
    for (const s of states) {
      if (s.next >= s.tasks.length) continue;
      if (s.quota !== null && s.served >= s.quota) continue;
      // The share a submitter would have after this slot, so a tiny weight loses even at zero running.
      const key = (s.served + 1) / s.weight;
      const bestKey = best === undefined ? Number.POSITIVE_INFINITY : (best.served + 1) / best.weight;
      if (
        best === undefined ||
        key < bestKey ||
        (key === bestKey && (s.weight > best.weight || (s.weight === best.weight && s.id < best.id)))
      ) {
        best = s;
      }
    }
    if (best === undefined) break;
    order.push(best.tasks[best.next].taskId);
    best.next += 1;
    best.served += 1;
  }
  for (const s of states) {
    for (let i = s.next; i < s.tasks.length; i++) held.push(s.tasks[i].taskId);
  }
  return { order, held };
}
