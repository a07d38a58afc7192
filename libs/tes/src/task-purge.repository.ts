import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { TERMINAL_STATES } from './tes.types';

/** One purge at a time across every replica that shares the database. */
export const PURGE_LOCK_KEY = 7_245_003;

/** Below every UUID the broker makes: where a walk up the primary key starts. */
export const NIL_ID = '00000000-0000-0000-0000-000000000000';

const FINISHED = TERMINAL_STATES.map((s) => `'${s}'`).join(', ');

export interface PurgedBatch {
  tasks: number;
  events: number;
  /** The highest id deleted; the next batch starts above it. */
  lastId: string | null;
}

/** The SQL of the retention purge; each batch is one statement, committed on its own. */
export interface PurgeStatements {
  deleteFinishedTasks(
    after: string,
    createdBefore: string,
    finishedBefore: Date,
    limit: number,
  ): Promise<PurgedBatch>;
  deleteIdempotencyKeys(createdBefore: Date, limit: number): Promise<number>;
}

/**
 * The smallest UUIDv7 of `t`'s millisecond: every id made before `t` sorts below it. Ids are UUIDv7, made
 * in the application (ARCHITECTURE.md), so a task that finished before `t` (and so was created before it)
 * has an id below this bound, and the purge walks the primary key up to it rather than scanning the table.
 */
export function firstIdAt(t: Date): string {
  const hex = Math.max(0, t.getTime()).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

@Injectable()
export class TaskPurgeRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Runs `work` holding the purge's advisory lock on a connection of its own, or returns null at once when
   * another replica holds it. A session lock (not a transaction's) because a purge is many short
   * transactions; it goes with the connection if this process dies.
   */
  async withPurgeLock<T>(work: (sql: PurgeStatements) => Promise<T>): Promise<T | null> {
    const runner = this.db.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        PURGE_LOCK_KEY,
      ])) as Array<{ locked: boolean }>;
      if (!locked) return null;
      try {
        return await work(statementsOn(runner));
      } finally {
        // Fails only when the connection is gone, and the lock with it.
        await runner.query('SELECT pg_advisory_unlock($1)', [PURGE_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }
}

function statementsOn(runner: QueryRunner): PurgeStatements {
  return {
    async deleteFinishedTasks(after, createdBefore, finishedBefore, limit) {
      // Events are deleted here too, though the foreign key would cascade, to count them. Anything else
      // that references a task (task_idempotency_key) goes by ON DELETE CASCADE. SKIP LOCKED: a task a
      // request or dispatch is changing right now is left for the next run.
      const [row] = (await runner.query(
        `WITH doomed AS (
           SELECT id FROM task
           WHERE id > $1 AND id < $2 AND state IN (${FINISHED}) AND updated_at < $3
           ORDER BY id LIMIT $4
           FOR UPDATE SKIP LOCKED),
         events AS (DELETE FROM task_event e USING doomed WHERE e.task_id = doomed.id RETURNING 1),
         tasks AS (DELETE FROM task t USING doomed WHERE t.id = doomed.id RETURNING t.id)
         SELECT (SELECT count(*) FROM tasks)::int AS tasks, (SELECT count(*) FROM events)::int AS events,
                (SELECT id FROM tasks ORDER BY id DESC LIMIT 1) AS last_id`,
        [after, createdBefore, finishedBefore, limit],
      )) as Array<{ tasks: number; events: number; last_id: string | null }>;
      return { tasks: row.tasks, events: row.events, lastId: row.last_id };
    },

    async deleteIdempotencyKeys(createdBefore, limit) {
      const [row] = (await runner.query(
        `WITH doomed AS (
           SELECT principal_id, key FROM task_idempotency_key WHERE created_at <= $1
           ORDER BY created_at LIMIT $2
           FOR UPDATE SKIP LOCKED),
         gone AS (
           DELETE FROM task_idempotency_key k USING doomed
           WHERE k.principal_id = doomed.principal_id AND k.key = doomed.key RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [createdBefore, limit],
      )) as Array<{ n: number }>;
      return row.n;
    },
  };
}
