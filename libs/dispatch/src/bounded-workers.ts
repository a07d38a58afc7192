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
