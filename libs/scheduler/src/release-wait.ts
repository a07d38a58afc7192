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
  ends: Float64Array;
  cores: Float64Array;
  memoryGib: Float64Array;
}

/**
 * Sorted once per list and `now`: every task of a placement round asks about the same running tasks, and a
 * thousand sites sorting their tasks for each task took ten times as long as the rest of placement. A list
 * is therefore read as immutable: whoever changes a site's running tasks puts a new array in its place.
 */
const releasesOf = new WeakMap<readonly RunningTask[], Releases>();

function releases(running: readonly RunningTask[], now: number): Releases {
  const known = releasesOf.get(running);
  if (known !== undefined && known.now === now) return known;
  const order = running.map((t) => ({ t, at: expectedEndAt(t, now) })).sort((a, b) => a.at - b.at);
  const r: Releases = {
    now,
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
 * The first index from `lo` whose running total reaches `need` (the totals never fall); the length when none
 * does. A resource that is not short needs no end at all, and the memory search starts where the cores' ended:
 * this runs for every full site and task, and each halving step is a branch the processor mispredicts.
 */
function firstReaching(totals: Float64Array, need: number, lo: number): number {
  if (lo >= totals.length || totals[lo] >= need) return lo;
  let hi = totals.length;
  lo++;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (totals[mid] >= need) hi = mid;
    else lo = mid + 1;
  }
  return lo;
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
  const last = r.ends.length - 1;
  const i = firstReaching(r.memoryGib, memoryShortGib, firstReaching(r.cores, coresShort, 0));
  return r.ends[Math.min(i, last)] - now;
}
