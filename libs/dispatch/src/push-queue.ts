/** What applying one pushed update came to: done, the task's lease is held elsewhere, or no task has the ref. */
export type PushOutcome = 'applied' | 'busy' | 'none';

export interface PushQueueOptions {
  /** Pause before trying again a ref whose task's lease was held; doubled at each try. */
  retryMs: number;
  /** Tries per ref while its lease is held; a lease outlives them only when its holder died (then it runs out). */
  maxTries: number;
  concurrency: number;
  /** Refs waiting at once; beyond, news is dropped and left to reconciliation. */
  maxPending: number;
  /** How long a ref no task had yet is remembered, for a submission that records it just after. */
  unmatchedMs: number;
  now?: () => number;
}

/**
 * The refs a site pushed news about, each applied by one claim as soon as it arrives. A ref whose task is
 * leased (another replica applies the same news, or a check is under way) is tried again shortly; one that
 * comes again while it is applied is applied once more afterwards, so no update is read before it landed.
 */
export class PushQueue {
  private readonly tries = new Map<string, number>();
  private readonly ready: string[] = [];
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private readonly unmatched = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly apply: (ref: string) => Promise<PushOutcome>,
    private readonly options: PushQueueOptions,
    private readonly onError: (ref: string, err: unknown) => void,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** News about `ref`. */
  add(ref: string): void {
    if (this.closed) return;
    if (this.inFlight.has(ref)) {
      this.again.add(ref);
      return;
    }
    if (this.tries.has(ref)) return;
    if (this.tries.size >= this.options.maxPending) return;
    this.tries.set(ref, 0);
    this.ready.push(ref);
    this.pump();
  }

  /** A submission just recorded `ref`: news that came before it can be applied now. */
  recorded(ref: string): void {
    // Being applied now, perhaps by a read made before the record was committed: apply it once more after.
    if (this.inFlight.has(ref)) {
      this.again.add(ref);
      return;
    }
    const heardAt = this.unmatched.get(ref);
    if (heardAt === undefined) return;
    this.unmatched.delete(ref);
    if (this.now() - heardAt <= this.options.unmatchedMs) this.add(ref);
  }

  /** Refs waiting or being applied (tests, shutdown). */
  get size(): number {
    return this.tries.size;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.options.concurrency && this.ready.length > 0) {
      const ref = this.ready.shift() as string;
      this.inFlight.add(ref);
      void this.run(ref);
    }
  }

  private async run(ref: string): Promise<void> {
    let outcome: PushOutcome | 'failed';
    try {
      outcome = await this.apply(ref);
    } catch (err) {
      this.onError(ref, err);
      outcome = 'failed';
    }
    this.inFlight.delete(ref);
    const tries = (this.tries.get(ref) ?? 0) + 1;
    if (this.again.delete(ref) && !this.closed) {
      this.tries.set(ref, 0);
      this.ready.push(ref);
    } else if (outcome === 'busy' && tries < this.options.maxTries && !this.closed) {
      this.tries.set(ref, tries);
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          if (this.closed) return;
          this.ready.push(ref);
          this.pump();
        },
        this.options.retryMs * 2 ** (tries - 1),
      );
      timer.unref();
      this.timers.add(timer);
    } else {
      this.tries.delete(ref);
      if (outcome === 'none') this.remember(ref);
    }
    this.pump();
  }

  private remember(ref: string): void {
    this.unmatched.delete(ref);
    this.unmatched.set(ref, this.now());
    const cutoff = this.now() - this.options.unmatchedMs;
    for (const [old, at] of this.unmatched) {
      if (at >= cutoff && this.unmatched.size <= this.options.maxPending) break;
      this.unmatched.delete(old);
    }
  }
}
