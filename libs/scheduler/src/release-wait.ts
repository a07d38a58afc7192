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

/** A site's running tasks in the order they are expected to end, with the room freed by each end. */
interface Releases {
  now: number;
  tasks: RunningTask[];
  ends: Float64Array;
  cores: Float64Array;
  memoryGib: Float64Array;
}

/**
 * Sorted once per site and `now`: every task of a placement round asks about the same running tasks, and a
 * thousand sites sorting their tasks for each task took ten times as long as the rest of placement. Kept
 * while the list holds the same task objects (checked one by one: the simulator edits its lists in place).
 */
const releasesOf = new WeakMap<readonly RunningTask[], Releases>();

function releases(running: readonly RunningTask[], now: number): Releases {
  const known = releasesOf.get(running);
  if (known !== undefined && known.now === now && known.tasks.length === running.length) {
    let same = true;
    for (let i = 0; i < running.length && same; i++) same = known.tasks[i] === running[i];
    if (same) return known;
  }
  const order = running.map((t) => ({ t, at: expectedEndAt(t, now) })).sort((a, b) => a.at - b.at);
  const r: Releases = {
    now,
    tasks: [...running],
    ends: new Float64Array(order.length),
    cores: new Float64Array(order.length),
    memoryGib: new Float64Array(order.length),
  };
  let cores = 0;
  let memory = 0;
  order.forEach(({ t, at }, i) => {
    cores += t.cores;
    memory += t.memoryGib;
    r.ends[i] = at;
    r.cores[i] = cores;
    r.memoryGib[i] = memory;
  });
  releasesOf.set(running, r);
  return r;
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
  if ((coresShort <= 0 && memoryShortGib <= 0) || running.length === 0) return 0;
  const r = releases(running, now);
  for (let i = 0; i < r.ends.length; i++) {
    if (r.cores[i] >= coresShort && r.memoryGib[i] >= memoryShortGib) return r.ends[i] - now;
  }
  return r.ends[r.ends.length - 1] - now;
}
