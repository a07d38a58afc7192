/**
 * Two checkouts' placement in one process, in alternating batches on the same synthetic network, per second of
 * CPU time: on a shared machine, separate runs of placement-rate.ts minutes apart differ by more than most
 * changes to placement do (1,000 sites: 4,862-7,169 per CPU second for the same code at load 7).
 *
 * `npx ts-node --transpile-only -r tsconfig-paths/register bench/sim/placement-ab.ts BEFORE AFTER [sites]
 * [batches] [placements per batch]`, BEFORE and AFTER being the roots of two checkouts (a worktree, or a copy
 * of one commit: `git archive COMMIT libs/scheduler | tar -x -C DIR`). Prints the median rate of each and the
 * median of the batch pairs' ratios (AFTER over BEFORE); one commit in two directories gave 0.99-1.06.
 */
import * as path from 'node:path';
import type { place as Place } from '@constellation/scheduler';
import { RateNetwork, rateNetwork } from './placement-rate';

type PlaceFn = typeof Place;

function load(root: string): PlaceFn {
  return (require(path.resolve(root, 'libs/scheduler/src/index.ts')) as { place: PlaceFn }).place;
}

/** Placements per CPU second over `count` placements. */
function batchRate(place: PlaceFn, net: RateNetwork, count: number): number {
  const { sites, stores, tasks, submitter } = net;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    place({ now: 1000, sites, dataStores: stores, task: tasks[i % tasks.length], submitter });
  }
  const cpu = process.cpuUsage(cpu0);
  return count / ((cpu.user + cpu.system) / 1e6);
}

function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

if (require.main === module) {
  const [before, after, sitesArg, batchesArg, batchArg] = process.argv.slice(2);
  if (before === undefined || after === undefined) {
    console.error('usage: placement-ab.ts BEFORE AFTER [sites] [batches] [placements per batch]');
    process.exit(2);
  }
  const n = Number(sitesArg ?? 1000);
  const batches = Number(batchesArg ?? 31);
  const batch = Number(batchArg ?? 1000);
  if (path.resolve(before) === path.resolve(after)) {
    // One module graph would serve both sides, and its per-site memory would be refilled at every batch.
    console.error('BEFORE and AFTER must be different directories (copy one to compare it with itself)');
    process.exit(2);
  }
  const places = [load(before), load(after)];
  // A network each: placement remembers per site object, and neither side may warm the other's memory.
  const nets = [rateNetwork(n), rateNetwork(n)];
  places.forEach((p, k) => batchRate(p, nets[k], 2 * batch));
  const rates: number[][] = [[], []];
  for (let b = 0; b < batches; b++) {
    // Alternate which side goes first, so neither always runs right after a collection the other caused.
    const order = b % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) rates[k].push(batchRate(places[k], nets[k], batch));
  }
  const ratios = rates[1].map((r, i) => r / rates[0][i]);
  console.log(
    `${n} sites: before ${Math.round(median(rates[0]))}, after ${Math.round(median(rates[1]))} placements ` +
      `per CPU second (medians of ${batches} batches of ${batch}); after / before ${median(ratios).toFixed(3)}`,
  );
}
