import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { BrokerError, ErrorCode } from '@constellation/common';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** How long a key names its task; after that the same key creates a new one. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;

const MAX_LENGTH = 255;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The header's value as the key, or undefined when the request carries none. Keys are opaque (clients send
 * UUIDs, hashes, their own job ids), compared exactly, and limited to what fits an index and a log line:
 * 1 to 255 visible ASCII characters. A header sent twice arrives joined with ", ", and so is refused too.
 */
export function parseIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const fail = (reason: string): never => {
    throw new BrokerError(ErrorCode.BadRequest, `invalid ${IDEMPOTENCY_KEY_HEADER} header: ${reason}`, [
      { path: `header ${IDEMPOTENCY_KEY_HEADER}`, reason },
    ]);
  };
  if (Array.isArray(raw)) return fail('must be sent once');
  if (raw === '') return fail('must not be empty');
  if (raw.length > MAX_LENGTH) return fail(`must be at most ${MAX_LENGTH} characters (got ${raw.length})`);
  if (!VISIBLE_ASCII.test(raw)) {
    return fail('must be visible ASCII characters only (no spaces, control or non-ASCII characters)');
  }
  return raw;
}

/**
 * SHA-256 of the request body as canonical JSON (object keys sorted), so that a client that sends the same
 * task again with its keys in another order or other spacing is recognised, and any other body is not.
 */
export function requestHash(body: unknown): Buffer {
  return createHash('sha256')
    .update(stringify(body) ?? 'undefined')
    .digest();
}
