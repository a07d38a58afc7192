import { Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { AppConfig } from '@constellation/config';
import { MetricsService } from '@constellation/observability';
import { firstIdAt, NIL_ID, PurgeStatements, TaskPurgeRepository } from './task-purge.repository';
import { PURGE_BATCH, PURGE_MAX_BATCHES, TaskPurgeService } from './task-purge.service';

const NOW = new Date('2026-12-06T00:00:00Z');
const DAY = 86_400_000;

/** Statements that report full batches of tasks `taskBatches` times, then an empty one, and record their calls. */
function fakeStatements(taskBatches: number, keyBatches: number) {
  const taskCalls: Array<[string, string, Date, number]> = [];
  const keyCalls: Array<[Date, number]> = [];
  const sql: PurgeStatements = {
    deleteFinishedTasks: (after, createdBefore, finishedBefore, limit) => {
      taskCalls.push([after, createdBefore, finishedBefore, limit]);
      const full = taskCalls.length <= taskBatches;
      return Promise.resolve({
        tasks: full ? limit : 3,
        events: full ? 2 * limit : 6,
        lastId: `id-${taskCalls.length}`,
      });
    },
    deleteIdempotencyKeys: (createdBefore, limit) => {
      keyCalls.push([createdBefore, limit]);
      return Promise.resolve(keyCalls.length <= keyBatches ? limit : 0);
    },
  };
  const repo = { withPurgeLock: (work: (s: PurgeStatements) => Promise<unknown>) => work(sql) };
  return { repo: repo as unknown as TaskPurgeRepository, taskCalls, keyCalls };
}

const config = (retentionDays: number | undefined) => ({ retentionDays }) as AppConfig;

describe('TaskPurgeService', () => {
  // Each run logs what it removed; not wanted in the test output.
  beforeEach(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('walks the finished tasks batch by batch from where the last one stopped, up to the cut-off', async () => {
    const { repo, taskCalls, keyCalls } = fakeStatements(2, 1);
    const service = new TaskPurgeService(repo, config(30), new MetricsService());
    const report = await service.run(NOW);
    const cutoff = new Date(NOW.getTime() - 30 * DAY);
    expect(taskCalls).toEqual([
      [NIL_ID, firstIdAt(cutoff), cutoff, PURGE_BATCH],
      ['id-1', firstIdAt(cutoff), cutoff, PURGE_BATCH],
      ['id-2', firstIdAt(cutoff), cutoff, PURGE_BATCH],
    ]);
    expect(keyCalls).toEqual([
      [new Date(NOW.getTime() - DAY), PURGE_BATCH],
      [new Date(NOW.getTime() - DAY), PURGE_BATCH],
    ]);
    expect(report).toEqual({
      tasks: 2 * PURGE_BATCH + 3,
      events: 4 * PURGE_BATCH + 6,
      idempotencyKeys: PURGE_BATCH,
      more: false,
    });
  });

  it('stops after PURGE_MAX_BATCHES statements and says more remain', async () => {
    const { repo, taskCalls } = fakeStatements(PURGE_MAX_BATCHES + 50, 0);
    const report = await new TaskPurgeService(repo, config(1), new MetricsService()).run(NOW);
    expect(taskCalls).toHaveLength(PURGE_MAX_BATCHES);
    expect(report).toEqual({
      tasks: PURGE_MAX_BATCHES * PURGE_BATCH,
      events: 2 * PURGE_MAX_BATCHES * PURGE_BATCH,
      idempotencyKeys: 0,
      more: true,
    });
  });

  it('bounds the keys too', async () => {
    const { repo, keyCalls } = fakeStatements(0, PURGE_MAX_BATCHES + 1);
    const report = await new TaskPurgeService(repo, config(undefined), new MetricsService()).run(NOW);
    expect(keyCalls).toHaveLength(PURGE_MAX_BATCHES);
    expect(report?.more).toBe(true);
  });

  it('deletes no task without a retention', async () => {
    const { repo, taskCalls } = fakeStatements(5, 0);
    await new TaskPurgeService(repo, config(undefined), new MetricsService()).run(NOW);
    expect(taskCalls).toEqual([]);
  });
});

describe('firstIdAt', () => {
  it('sorts above every UUIDv7 of earlier milliseconds and not above any of its own', () => {
    const t = NOW.getTime();
    const bound = firstIdAt(NOW);
    // 2026-12-06T00:00:00Z is 0x01a248a67c00 ms after the epoch.
    expect(bound).toBe('01a248a6-7c00-0000-0000-000000000000');
    for (let i = 0; i < 100; i++) {
      expect(uuidv7({ msecs: t - 1 }) < bound).toBe(true);
      expect(uuidv7({ msecs: t }) >= bound).toBe(true);
    }
  });
});
