import { Logger } from '@nestjs/common';

/**
 * SQLSTATEs after which running the same work again may succeed: the server ended the connection
 * (class 08; 57P01 admin shutdown, as pg_terminate_backend and a failover send; 57P02 crash shutdown;
 * 57P03 not yet accepting connections) or gave up on the transaction for a reason of its own
 * (40001 serialization failure, 40P01 deadlock). Anything else (a constraint, bad data) would fail again.
 */
const TRANSIENT_SQLSTATES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '40001',
  '40P01',
]);

/** Socket errors of a connection that broke under a query. */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/**
 * What node-postgres says, without a code, about a connection that went away under a query or was taken
 * from the pool after it had died.
 */
const TRANSIENT_MESSAGES = [
  /^Connection terminated unexpectedly$/,
  /^Connection terminated$/,
  /^Connection terminated due to connection timeout$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/**
 * Whether `err` is a database failure that says nothing about the work itself. TypeORM's QueryFailedError
 * copies the driver error's fields and keeps it as `driverError`; both are looked at, as is `cause`.
 */
export function isTransientDbError(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SOCKET_CODES.has(code))) {
      return true;
    }
    if (typeof message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(message))) return true;
    const next =
      (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
    if (next === e) break;
    e = next;
  }
  return false;
}

export interface TransientRetryOptions {
  /** Runs of `work` in all, the first included. */
  attempts?: number;
  /** The first pause; each later one doubles, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** What the log line says was retried. */
  label?: string;
  /** Injected by tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

const DEFAULTS = { attempts: 6, baseDelayMs: 25, maxDelayMs: 1000 };

const logger = new Logger('database');

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The pause before retry `n` (1-based): half the doubled base for sure, the other half at random. */
export function retryDelayMs(
  n: number,
  opts: Pick<TransientRetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const ceiling = Math.min(
    opts.maxDelayMs ?? DEFAULTS.maxDelayMs,
    (opts.baseDelayMs ?? DEFAULTS.baseDelayMs) * 2 ** (n - 1),
  );
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Runs `work` and, when it fails with a transient database error (isTransientDbError), runs it again after
 * a short jittered pause, a bounded number of times; the last error is thrown as it was. Only for work that
 * is safe to run twice: reads, idempotent writes, and transactions that either committed nothing or whose
 * writes are keyed so that a second run finds the first one's rows (a lost COMMIT answer).
 */
export async function withTransientRetry<T>(
  work: () => Promise<T>,
  opts: TransientRetryOptions = {},
): Promise<T> {
  const attempts = opts.attempts ?? DEFAULTS.attempts;
  const sleep = opts.sleep ?? sleepFor;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !isTransientDbError(err)) throw err;
      const delay = retryDelayMs(attempt, opts, random);
      if (opts.onRetry) opts.onRetry(err, attempt, delay);
      else {
        logger.warn(
          `${opts.label ?? 'database work'} failed (${describe(err)}); retry ${attempt} of ${attempts - 1} in ${delay} ms`,
        );
      }
      await sleep(delay);
    }
  }
}

function describe(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return [code, message].filter((p) => typeof p === 'string' && p !== '').join(' ') || String(err);
}
