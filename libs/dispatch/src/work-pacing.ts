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

/** How long to leave a task alone after its site did not answer: a few status intervals, at most a minute. */
export function retryDelayMs(config: Pick<AppConfig, 'trackSeconds'>): number {
  return Math.min(60_000, Math.max(1000, config.trackSeconds * 3000));
}
