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

/** Per running task, in the order they are expected to end: its end, then the cores and memory freed by then. */
const END = 0;
const CORES = 1;
const MEMORY = 2;
const STRIDE = 3;

/**
 * A site's running tasks as their releases, in one array allocated with the object that holds it: a full
 * site's queue wait reads it for every task placed, and the chain from a weak map through an object to three
 * typed arrays (each with its memory elsewhere) cost a thousand sites more in cache misses than the search.
 */
interface Releases {
  running: readonly RunningTask[];
  now: number;
  at: number[];
}

/**
 * Sorted once per list and `now`: every task of a placement round asks about the same running tasks, and a
 * thousand sites sorting their tasks for each task took ten times as long as the rest of placement. A list
 * is therefore read as immutable: whoever changes a site's running tasks puts a new array in its place.
 */
const releasesOf = new WeakMap<readonly RunningTask[], Releases>();
/** The same by the site's place in the snapshot, when the caller knows it: read in the order sites are. */
const atPosition: (Releases | undefined)[] = [];

function releases(running: readonly RunningTask[], now: number, index: number | undefined): Releases {
  const placed = index === undefined ? undefined : atPosition[index];
  if (placed !== undefined && placed.running === running && placed.now === now) return placed;
  let r = releasesOf.get(running);
  if (r === undefined || r.now !== now) {
    const order = running.map((t) => ({ t, end: expectedEndAt(t, now) })).sort((a, b) => a.end - b.end);
    const at: number[] = [];
    let cores = 0;
    let memory = 0;
    for (const { t, end } of order) {
      cores += t.cores;
      memory += t.memoryGib;
      at.push(end, cores, memory);
    }
    r = { running, now, at };
    releasesOf.set(running, r);
  }
  if (index !== undefined) atPosition[index] = r;
  return r;
}

/**
 * The first task from `lo` by whose end the running total of the resource at `field` reaches `need` (the
 * totals never fall); the count of tasks when none does. A resource that is not short needs no end at all,
 * and the memory search starts where the cores' ended: this runs for every full site and task, and each
 * halving step is a branch the processor mispredicts.
 */
function firstReaching(at: readonly number[], field: number, need: number, lo: number): number {
  const n = at.length / STRIDE;
  if (lo >= n || at[lo * STRIDE + field] >= need) return lo;
  let hi = n;
  lo++;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at[mid * STRIDE + field] >= need) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Seconds until the running tasks' expected ends free `coresShort` cores and `memoryShortGib` of memory
 * (either may be 0 or less when that resource is not short). When even all of them ending would not (tasks
 * queued there want the room too), the last end: the room cannot come sooner than that. `index` is the
 * site's place in the snapshot, which keeps its sorted ends at hand.
 */
export function releaseWaitSeconds(
  running: readonly RunningTask[],
  coresShort: number,
  memoryShortGib: number,
  now: number,
  index?: number,
): number {
  if (coresShort <= 0 && memoryShortGib <= 0) return 0;
  const { at } = releases(running, now, index);
  if (at.length === 0) return 0;
  const i = firstReaching(at, MEMORY, memoryShortGib, firstReaching(at, CORES, coresShort, 0));
  return at[Math.min(i, at.length / STRIDE - 1) * STRIDE + END] - now;
}
