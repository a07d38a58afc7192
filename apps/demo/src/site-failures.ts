import type { SimSiteServer } from '../../sim-site/src';
import type { SiteFailure } from './demo-options';
import { FINAL } from './demo-tally';

/** The tasks a site held when its fault struck, and when (seconds into the workload). */
export interface FailureRecord {
  at: number;
  ids: string[];
}

/**
 * Strikes each `--fail-site` at its time, or as soon after as the site holds a task (until the workload
 * ends): a failure that moves nothing would show nothing.
 */
export function scheduleFailures(
  sim: SimSiteServer,
  failures: SiteFailure[],
  clock: { elapsed(): number; over(): boolean },
  say: (line: string) => void,
): { records: Map<string, FailureRecord>; cancel(): void } {
  const records = new Map<string, FailureRecord>();
  const timers = new Map<string, NodeJS.Timeout>();
  for (const f of failures) {
    const strike = () => {
      const held = [...sim.site(f.slug).statesByTag('constellation.task')]
        .filter(([, s]) => !FINAL.has(s))
        .map(([id]) => id);
      if (held.length === 0 && !clock.over()) {
        timers.set(f.slug, setTimeout(strike, 50));
        return;
      }
      const at = clock.elapsed();
      records.set(f.slug, { at, ids: held });
      void sim.fault(f.slug, f.mode).then(() => {
        const what = f.mode === 'die' ? 'dies' : `fault ${f.mode}`;
        say(`demo: ${f.slug} ${what} at ${at.toFixed(0)} s holding ${held.length} task(s)`);
      });
    };
    timers.set(f.slug, setTimeout(strike, f.atSeconds * 1000));
  }
  return { records, cancel: () => timers.forEach((t) => clearTimeout(t)) };
}
