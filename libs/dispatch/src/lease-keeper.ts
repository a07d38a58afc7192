import type { HeldLease } from './leased-claims';

/**
 * Keeps a claim alive while its work makes progress: every third of a lease it renews the lease if the work
 * progressed (bytes flowed) within `stallMs`, half a lease unless said. Work that stalls longer, a renewal that
 * finds the claim gone (taken over already), or renewals failing until the lease is nearly out all call
 * `lost`, which must stop the work before the lease ends, so two replicas never deliver the same task at once.
 * Work with no progress to report (a walk waiting on one long answer) passes an infinite `stallMs`: the site's
 * own timeout bounds it.
 */
export class LeaseKeeper {
  private lastProgress = Date.now();
  private lastRenewal = Date.now();
  private readonly timer: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly renew: () => Promise<boolean>,
    private readonly leaseMs: number,
    private readonly lost: () => void,
    private readonly stallMs: number = leaseMs / 2,
  ) {
    this.timer = setInterval(() => void this.tick(), Math.max(50, leaseMs / 3));
    this.timer.unref();
  }

  progressed(): void {
    this.lastProgress = Date.now();
  }

  end(): void {
    this.ended = true;
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.ended) return;
    if (Date.now() - this.lastProgress > this.stallMs) return this.give();
    let held = false;
    try {
      held = await this.renew();
      if (held) this.lastRenewal = Date.now();
    } catch {
      // The database did not answer: try again next tick, unless the lease is about to run out.
      if (Date.now() - this.lastRenewal < (this.leaseMs * 2) / 3) return;
    }
    if (!held) this.give();
  }

  private give(): void {
    if (this.ended) return;
    this.end();
    this.lost();
  }
}

/** A lease kept for work that has no progress to report, and asks before each write whether it still holds. */
export interface KeptLease {
  /** Renews the lease once more (a whole lease for the writes that follow); false once the claim is lost. */
  stillOurs(): Promise<boolean>;
  end(): void;
}

/**
 * Keeps `held` for work that waits on a site's answers (a walk, a visit to abandoned copies) without bytes to
 * count: renewed every third of a lease however long one answer takes, as the site's own timeout bounds it.
 */
export function keepLease(held: HeldLease, leaseMs: number): KeptLease {
  let lost = false;
  const keeper = new LeaseKeeper(
    () => held.renew(),
    leaseMs,
    () => {
      lost = true;
    },
    Infinity,
  );
  return {
    stillOurs: async () => !lost && (await held.renew()),
    end: () => keeper.end(),
  };
}
