import { Injectable } from '@nestjs/common';

type SubmittedListener = (firstCheckAt: Date) => void;

/**
 * What a dispatch step tells the dispatch loop as it happens, so the loop wakes the next step for that task
 * at once instead of leaving it to the next round: a task was submitted and its first check falls due then.
 */
@Injectable()
export class DispatchNews {
  private readonly submittedListeners = new Set<SubmittedListener>();

  onSubmitted(listener: SubmittedListener): () => void {
    this.submittedListeners.add(listener);
    return () => this.submittedListeners.delete(listener);
  }

  submitted(firstCheckAt: Date): void {
    for (const listener of this.submittedListeners) listener(firstCheckAt);
  }
}
