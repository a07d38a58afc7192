import type { RunningTask } from './snapshot';

/**
 * When a running task is expected to end. Run times are heavy-tailed: a task that has already run past its
 * estimate is most likely one of the long ones, so it is expected to run about as long again as it has
 * (a stuck-looking metaspades job on 245 GiB, estimated at the 600 s default, ran 152,000 s).
 */
export function expectedEndAt(task: RunningTask, now: number): number {
  const elapsed = Math.max(0, now - task.startedAt);
  return now + Math.max(task.expectedRunS - elapsed, elapsed);
}

/**
 * Seconds until the running tasks' expected ends free `coresShort` cores and `memoryShortGib` of memory
 * (either may be 0 or less when that resource is not short). When even all of them ending would not (tasks
 * queued there want the room too), the last end: the room cannot come sooner than that.
 */
export function releaseWaitSeconds(
  running: readonly RunningTask[],
  coresShort: number,
  memoryShortGib: number,
  now: number,
): number {
  if (coresShort <= 0 && memoryShortGib <= 0) return 0;
  const ends = running.map((t, i) => ({ at: expectedEndAt(t, now), i }));
  ends.sort((a, b) => a.at - b.at);
  let cores = 0;
  let memory = 0;
  for (const { at, i } of ends) {
    cores += running[i].cores;
    memory += running[i].memoryGib;
    if (cores >= coresShort && memory >= memoryShortGib) return at - now;
  }
  return ends.length === 0 ? 0 : ends[ends.length - 1].at - now;
}
