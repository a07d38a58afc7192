import type { AppConfig } from '@constellation/config';

/**
 * Runs `fn` over `items` with at most `limit` calls in flight. One item's failure (a database error, say) is
 * reported and the others go on; its lease runs out and another round retries it.
 */
export async function mapConcurrent<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  onError: (item: T, err: unknown) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        onError(item, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Each of `concurrency` workers claims one item at a time, just before working on it, until `claimOne`
 * finds nothing or `limit` items were taken. A lease then starts when its work starts, so it never runs out
 * while the item waits behind others in the batch.
 */
export async function claimEach<T>(
  claimOne: () => Promise<T | undefined>,
  concurrency: number,
  limit: number,
  fn: (item: T) => Promise<void>,
  onError: (item: T, err: unknown) => void,
): Promise<number> {
  let taken = 0;
  let exhausted = false;
  const worker = async () => {
    while (!exhausted && taken < limit) {
      taken++;
      const item = await claimOne();
      if (item === undefined) {
        taken--;
        exhausted = true;
        return;
      }
      try {
        await fn(item);
      } catch (err) {
        onError(item, err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return taken;
}

/** How long to leave a task alone after its site did not answer: a few status intervals, at most a minute. */
export function retryDelayMs(config: Pick<AppConfig, 'trackSeconds'>): number {
  return Math.min(60_000, Math.max(1000, config.trackSeconds * 3000));
}

/**
 * How long a site may keep failing to answer about one task before dispatch stops waiting for it: twice
 * the time probes need to call a dead site offline (so a dead site is normally caught by its probes
 * first), and at least a minute. A site that answers its probes but not for this task, or one an admin
 * disabled (no longer probed), is caught by this bound instead.
 */
export function giveUpAfterMs(config: Pick<AppConfig, 'probeSeconds' | 'probeFailures'>): number {
  return Math.max(60_000, 2 * config.probeSeconds * config.probeFailures * 1000);
}

/** True when the task's site has been failing about it for longer than giveUpAfterMs. */
export function failingTooLong(
  failingSince: Date | null,
  now: Date,
  config: Pick<AppConfig, 'probeSeconds' | 'probeFailures'>,
): boolean {
  return failingSince !== null && now.getTime() - failingSince.getTime() > giveUpAfterMs(config);
}
