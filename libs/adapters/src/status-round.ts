import { AdapterError } from './site-adapter';

/**
 * Asks about every ref with at most `concurrency` requests in flight. Each ref's failure is its own, but a site
 * that answers none of them is down (the whole call rejects `unreachable`), and refused credentials fail the
 * whole call at once, as the contract asks.
 */
export async function statusRound<T>(
  refs: readonly string[],
  concurrency: number,
  one: (ref: string) => Promise<T | AdapterError>,
): Promise<Map<string, T | AdapterError>> {
  const result = new Map<string, T | AdapterError>();
  const pending = [...new Set(refs)];
  if (pending.length === 0) return result;
  const workers = Math.min(concurrency, pending.length);
  const round = { next: 0, answered: 0, unanswered: 0, last: '', auth: null as AdapterError | null };
  const worker = async (): Promise<void> => {
    while (round.next < pending.length && round.auth === null) {
      // As many silent refs as workers, and no answer at all: waiting out a timeout per ref would stall.
      if (round.answered === 0 && round.unanswered >= workers) return;
      const ref = pending[round.next++];
      const outcome = await one(ref);
      result.set(ref, outcome);
      if (
        !(outcome instanceof AdapterError) ||
        (outcome.kind !== 'unreachable' && outcome.kind !== 'auth_failed')
      ) {
        round.answered++;
      } else if (outcome.kind === 'auth_failed') {
        round.auth = outcome;
      } else {
        round.unanswered++;
        round.last = outcome.message;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  if (round.auth !== null) throw round.auth;
  if (round.answered === 0) {
    throw new AdapterError('unreachable', `the site answered none of our status requests (${round.last})`);
  }
  for (const ref of pending) {
    if (!result.has(ref))
      result.set(ref, new AdapterError('unreachable', 'not asked: the site stopped answering'));
  }
  return result;
}
