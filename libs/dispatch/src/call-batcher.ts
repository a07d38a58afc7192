interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers calls into batches: the calls made while a batch is written wait and go together in the next one,
 * so workers that finish at about the same time share one database transaction instead of one each. Calls
 * made in the same turn of the event loop as the first of a batch join it. A batch that fails fails each of
 * its calls.
 */
export class CallBatcher<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private busy = false;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxBatch: number,
  ) {}

  call(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    this.busy = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0, this.maxBatch);
    try {
      const results = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
    if (this.waiting.length > 0) this.next();
    else this.busy = false;
  }
}
