import { queueWaitSeconds, releaseFloor } from './estimate';
import { expectedEndAt, releaseWaitSeconds } from './release-wait';
import { resolveResources } from './requirements';
import { DEFAULT_COST_MODEL, RunningTask } from './snapshot';
import { site, task } from './testing/fixtures';

const NOW = 100_000;
const running = (
  cores: number,
  memoryGib: number,
  startedAgoS: number,
  expectedRunS: number,
): RunningTask => ({
  cores,
  memoryGib,
  startedAt: NOW - startedAgoS,
  expectedRunS,
});

describe('expectedEndAt', () => {
  it.each([
    { name: 'within its estimate: the rest of it', t: running(1, 1, 100, 600), want: NOW + 500 },
    { name: 'half way: the other half', t: running(1, 1, 300, 600), want: NOW + 300 },
    {
      name: 'past its estimate: as long again as it has run',
      t: running(1, 1, 7_000, 600),
      want: NOW + 7_000,
    },
    { name: 'starting in the future counts from now', t: running(1, 1, -50, 600), want: NOW + 600 },
  ])('$name', ({ t, want }) => {
    expect(expectedEndAt(t, NOW)).toBe(want);
  });
});

describe('releaseWaitSeconds', () => {
  const tasks = [running(16, 240, 7_000, 600), running(8, 8, 0, 100), running(8, 8, 0, 200)];

  it.each([
    { name: 'nothing short: no wait', cores: 0, mem: 0, want: 0 },
    { name: 'cores: the first ends suffice', cores: 8, mem: 0, want: 100 },
    { name: 'cores: two ends needed', cores: 12, mem: 0, want: 200 },
    { name: 'memory held by the long task waits for it', cores: 0, mem: 40, want: 7_000 },
    { name: 'more than all of them hold: at least the last end', cores: 64, mem: 0, want: 7_000 },
  ])('$name', ({ cores, mem, want }) => {
    expect(releaseWaitSeconds(tasks, cores, mem, NOW)).toBe(want);
  });
});

describe('queueWaitSeconds with the running tasks', () => {
  // 48 cores and 256 GiB; one task on 16 cores holds 240 GiB and has run far past its estimate.
  const blocked = (runningTasks?: RunningTask[]) =>
    site('a', {
      capacity: { maxConcurrentTasks: 48, totals: { cores: 48, memoryGib: 256 } },
      load: { running: 1, queued: 0, claimed: { cores: 16, memoryGib: 240, gpus: 0 }, runningTasks },
      performance: { speedFactor: 1, throughputPerS: 0.2 },
    });
  const needs50Gib = resolveResources(task({ cpuCores: 10, ramGb: (50 * 2 ** 30) / 1e9 }));

  it('without them: the memory short drains at the average throughput', () => {
    expect(queueWaitSeconds(blocked(), needs50Gib, DEFAULT_COST_MODEL, undefined, NOW)).toBeCloseTo(
      (((240 + 50 - 256) / 256) * 48) / 0.2,
      9,
    );
  });

  it('with them: at least until the task holding the memory is expected to end', () => {
    const wait = queueWaitSeconds(
      blocked([running(16, 240, 7_000, 600)]),
      needs50Gib,
      DEFAULT_COST_MODEL,
      undefined,
      NOW,
    );
    expect(wait).toBe(7_000);
  });

  it('a task that fits now waits for nothing, whatever runs there', () => {
    const small = resolveResources(task({ cpuCores: 2, ramGb: 8 }));
    expect(
      queueWaitSeconds(blocked([running(16, 240, 7_000, 600)]), small, DEFAULT_COST_MODEL, undefined, NOW),
    ).toBe(0);
  });

  it('the explanation finds the floor that set the wait, with the running tasks it came from', () => {
    const s = blocked([running(16, 240, 7_000, 600), running(2, 2, 0, 50)]);
    const t = task({ cpuCores: 10, ramGb: (50 * 2 ** 30) / 1e9 });
    const wait = queueWaitSeconds(s, needs50Gib, DEFAULT_COST_MODEL, undefined, NOW);
    expect(releaseFloor(s, t, needs50Gib, 600, NOW)).toEqual({ seconds: wait, tasks: 2, running: 2 });
    expect(releaseFloor(s, t, resolveResources(task({ cpuCores: 2, ramGb: 8 })), 600, NOW)).toBeUndefined();
    expect(releaseFloor(blocked(), t, needs50Gib, 600, NOW)).toBeUndefined();
  });

  it('the floor counts only the running tasks whose ends free the room', () => {
    const s = site('b', {
      capacity: { maxConcurrentTasks: 48, totals: { cores: 48, memoryGib: 256 } },
      load: {
        running: 3,
        queued: 0,
        claimed: { cores: 44, memoryGib: 40, gpus: 0 },
        runningTasks: [running(8, 8, 0, 100), running(8, 8, 0, 200), running(28, 24, 0, 5_000)],
      },
      performance: { speedFactor: 1, throughputPerS: 0.2 },
    });
    const t = task({ cpuCores: 10, ramGb: 8 });
    const res = resolveResources(t);
    expect(queueWaitSeconds(s, res, DEFAULT_COST_MODEL, undefined, NOW)).toBe(100);
    expect(releaseFloor(s, t, res, 600, NOW)).toEqual({ seconds: 100, tasks: 1, running: 3 });
  });

  it('without the time, only the throughput counts', () => {
    const wait = queueWaitSeconds(blocked([running(16, 240, 7_000, 600)]), needs50Gib, DEFAULT_COST_MODEL);
    expect(wait).toBeLessThan(100);
  });
});

describe('releaseWaitSeconds remembers the order of ends per list and time', () => {
  it('a new list with other tasks is sorted again, even at the same time and length', () => {
    const list = [running(8, 8, 0, 100), running(8, 8, 0, 900)];
    expect(releaseWaitSeconds(list, 8, 0, NOW)).toBe(100);
    // The short task ends and a long one starts, at the same moment: the owner puts a new array in place.
    const next = [list[1], running(8, 8, 0, 5_000)];
    expect(releaseWaitSeconds(next, 8, 0, NOW)).toBe(900);
  });

  it('a later time moves the ends of tasks past their estimates', () => {
    const list = [running(8, 8, 1_000, 600)];
    expect(releaseWaitSeconds(list, 8, 0, NOW)).toBe(1_000);
    expect(releaseWaitSeconds(list, 8, 0, NOW + 500)).toBe(1_500);
  });
});
