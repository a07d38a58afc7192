/** How a GroupWriter splits what it gathered: at most `maxItems` items and about `maxBytes` per write. */
export interface GroupLimits {
  maxItems: number;
  maxBytes: number;
}

interface Waiting<T> {
  item: T;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: items handed over in the same turn of the event loop are written together, by one call
 * of `write` per group, and each caller's promise settles when its group is stored. Under concurrent load
 * this turns N statements, N commits and N round trips into one, at the cost of at most one loop turn of
 * waiting. A group that fails because of one of its items (`itemError` says which errors can be) is
 * written again item by item, so one bad item fails only its own caller; any other failure (database down,
 * pool exhausted) fails the whole group at once rather than multiplying the load.
 */
export class GroupWriter<T> {
  private waiting: Waiting<T>[] = [];
  private scheduled = false;
  private writing = false;

  /**
   * `serial`: one group written at a time, the next gathering everything that arrives meanwhile; for
   * writes that queue behind one another in the database anyway (a lock they all take), where groups
   * written side by side would only hold connections while they wait.
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly limits: GroupLimits,
    private readonly sizeOf: (item: T) => number,
    private readonly itemError: (err: unknown) => boolean,
    private readonly serial = false,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, bytes: this.sizeOf(item), resolve, reject });
      if (!this.scheduled && !this.writing) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = this.takeGroups();
    if (!this.serial) {
      for (const group of groups) void this.writeGroup(group);
      return;
    }
    this.writing = true;
    void (async () => {
      for (const group of groups) await this.writeGroup(group);
      this.writing = false;
      if (this.waiting.length > 0) this.flush();
    })();
  }

  private takeGroups(): Waiting<T>[][] {
    const all = this.waiting;
    this.waiting = [];
    const groups: Waiting<T>[][] = [];
    let group: Waiting<T>[] = [];
    let bytes = 0;
    for (const w of all) {
      if (
        group.length > 0 &&
        (group.length >= this.limits.maxItems || bytes + w.bytes > this.limits.maxBytes)
      ) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(w);
      bytes += w.bytes;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  private async writeGroup(group: Waiting<T>[]): Promise<void> {
    try {
      await this.write(group.map((w) => w.item));
      for (const w of group) w.resolve();
    } catch (err) {
      if (group.length === 1 || !this.itemError(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      await Promise.all(
        group.map((w) =>
          this.write([w.item]).then(
            () => w.resolve(),
            (e: unknown) => w.reject(e),
          ),
        ),
      );
    }
  }
}
