import { TaskPurgeLoop } from './task-purge.loop';
import type { PurgeReport, TaskPurgeService } from './task-purge.service';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A purge that records when it ran and answers what the test says. */
function fakePurge(answers: Array<PurgeReport | null | Error>) {
  const runs: number[] = [];
  const start = Date.now();
  const purge = {
    run: () => {
      runs.push(Date.now() - start);
      const answer = answers.shift() ?? null;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  } as unknown as TaskPurgeService;
  return { purge, runs };
}

const report = (more: boolean): PurgeReport => ({ tasks: 1, events: 1, idempotencyKeys: 0, more });

describe('TaskPurgeLoop', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('purges a minute after start, then daily; five minutes later when a run left rows; on after a failure', async () => {
    const { purge, runs } = fakePurge([
      report(false),
      report(true),
      new Error('database down'),
      report(false),
    ]);
    const scheduler = new TaskPurgeLoop(purge);
    // The failure's log line goes through Nest's logger; keep the test output quiet.
    jest.spyOn(scheduler['logger'], 'error').mockImplementation(() => undefined);
    scheduler.onApplicationBootstrap();

    await jest.advanceTimersByTimeAsync(MINUTE - 1);
    expect(runs).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([MINUTE]);
    await jest.advanceTimersByTimeAsync(DAY);
    expect(runs).toEqual([MINUTE, MINUTE + DAY]);
    // That run stopped at its bound: the next comes five minutes later; it fails, and the one after that
    // still comes, a day later.
    await jest.advanceTimersByTimeAsync(5 * MINUTE);
    expect(runs).toEqual([MINUTE, MINUTE + DAY, 6 * MINUTE + DAY]);
    await jest.advanceTimersByTimeAsync(DAY);
    expect(runs).toEqual([MINUTE, MINUTE + DAY, 6 * MINUTE + DAY, 6 * MINUTE + 2 * DAY]);
    await scheduler.beforeApplicationShutdown();
  });

  it('runs no purge after shutdown', async () => {
    const { purge, runs } = fakePurge([]);
    const scheduler = new TaskPurgeLoop(purge);
    scheduler.onApplicationBootstrap();
    await scheduler.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(2 * DAY);
    expect(runs).toEqual([]);
  });
});
