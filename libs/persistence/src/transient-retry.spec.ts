import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isTransientDbError, retryDelayMs, withTransientRetry } from './transient-retry';

/** A server error as node-postgres builds it from an ErrorResponse. */
function serverError(code: string, message: string): DatabaseError {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
}

/** The same error as TypeORM rethrows it from a query runner. */
function typeormError(driverError: Error): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], driverError);
}

describe('isTransientDbError', () => {
  it.each([
    {
      name: 'pg_terminate_backend (57P01)',
      err: serverError('57P01', 'terminating connection due to administrator command'),
    },
    {
      name: 'crash shutdown (57P02)',
      err: serverError('57P02', 'terminating connection because of crash of another server process'),
    },
    { name: 'server starting (57P03)', err: serverError('57P03', 'the database system is starting up') },
    { name: 'serialization failure (40001)', err: serverError('40001', 'could not serialize access') },
    { name: 'deadlock (40P01)', err: serverError('40P01', 'deadlock detected') },
    { name: 'connection failure (08006)', err: serverError('08006', 'connection failure') },
    { name: 'TypeORM-wrapped 57P01', err: typeormError(serverError('57P01', 'terminating connection')) },
    { name: 'TypeORM-wrapped deadlock', err: typeormError(serverError('40P01', 'deadlock detected')) },
    { name: 'pg: Connection terminated unexpectedly', err: new Error('Connection terminated unexpectedly') },
    { name: 'pg: Connection terminated (client ended)', err: new Error('Connection terminated') },
    {
      name: 'pg: dead client taken from the pool',
      err: new Error('Client has encountered a connection error and is not queryable'),
    },
    {
      name: 'TypeORM-wrapped Connection terminated unexpectedly',
      err: typeormError(new Error('Connection terminated unexpectedly')),
    },
    { name: 'socket reset', err: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) },
    { name: 'wrapped as a cause', err: new Error('insert failed', { cause: serverError('40001', 'x') }) },
  ])('transient: $name', ({ err }) => {
    expect(isTransientDbError(err)).toBe(true);
  });

  it.each([
    { name: 'unique violation (23505)', err: serverError('23505', 'duplicate key value') },
    {
      name: 'foreign key violation (23503)',
      err: typeormError(serverError('23503', 'violates foreign key')),
    },
    { name: 'invalid text (22P02)', err: serverError('22P02', 'invalid input syntax for type uuid') },
    { name: 'syntax error (42601)', err: serverError('42601', 'syntax error') },
    {
      name: 'statement timeout (57014)',
      err: serverError('57014', 'canceling statement due to statement timeout'),
    },
    { name: 'pool timeout', err: new Error('timeout exceeded when trying to connect') },
    {
      name: 'a message that only mentions termination',
      err: new Error('Connection terminated unexpectedly; then more'),
    },
    { name: 'not an error', err: 'Connection terminated unexpectedly' },
    { name: 'undefined', err: undefined },
  ])('not transient: $name', ({ err }) => {
    expect(isTransientDbError(err)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it.each([
    { n: 1, random: 0, want: 13 },
    { n: 1, random: 1, want: 25 },
    { n: 3, random: 0, want: 50 },
    { n: 3, random: 1, want: 100 },
    { n: 10, random: 1, want: 1000 },
    { n: 10, random: 0, want: 500 },
  ])('retry $n with random $random waits $want ms', ({ n, random, want }) => {
    expect(retryDelayMs(n, {}, () => random)).toBe(want);
  });
});

describe('withTransientRetry', () => {
  const noSleep = { sleep: () => Promise.resolve(), onRetry: () => undefined };

  it('runs the work again after a transient error and returns its result', async () => {
    let runs = 0;
    const delays: number[] = [];
    const result = await withTransientRetry(
      () => {
        runs++;
        if (runs < 3) return Promise.reject(serverError('57P01', 'terminating connection'));
        return Promise.resolve('done');
      },
      { sleep: (ms) => (delays.push(ms), Promise.resolve()), random: () => 1, onRetry: () => undefined },
    );
    expect(result).toBe('done');
    expect(runs).toBe(3);
    expect(delays).toEqual([25, 50]);
  });

  it('gives up after the bounded number of runs with the last error', async () => {
    let runs = 0;
    const last = new Error('Connection terminated unexpectedly');
    await expect(
      withTransientRetry(
        () => {
          runs++;
          return Promise.reject(runs === 4 ? last : serverError('40P01', 'deadlock detected'));
        },
        { ...noSleep, attempts: 4 },
      ),
    ).rejects.toBe(last);
    expect(runs).toBe(4);
  });

  it('does not run the work again after an error that is not transient', async () => {
    let runs = 0;
    const unique = serverError('23505', 'duplicate key value');
    await expect(
      withTransientRetry(() => {
        runs++;
        return Promise.reject(unique);
      }, noSleep),
    ).rejects.toBe(unique);
    expect(runs).toBe(1);
  });
});
