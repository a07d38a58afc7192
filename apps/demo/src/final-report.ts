import { FINAL, type Tally } from './demo-tally';
import type { FailureRecord } from './site-failures';

/** The demo's closing lines; the last one is the summary scripts and tests read. */
export function finalReport(
  final: Tally,
  states: Map<string, string>,
  failures: Map<string, FailureRecord>,
  refused: { count: number; last: string | undefined },
): string[] {
  const lines: string[] = [];
  if (refused.count > 0)
    lines.push(`demo: ${refused.count} submission(s) refused by the broker; last: ${refused.last}`);
  for (const [slug, f] of failures) {
    const finished = f.ids.filter((id) => FINAL.has(states.get(id) ?? ''));
    const complete = finished.filter((id) => states.get(id) === 'COMPLETE').length;
    lines.push(
      `demo: ${slug} held ${f.ids.length} task(s) when it failed at ${f.at.toFixed(0)} s; ${complete} of them ` +
        `complete elsewhere, ${finished.length - complete} failed, ${f.ids.length - finished.length} unfinished`,
    );
  }
  const inFlight = final.queued + final.running;
  if (inFlight > 0)
    lines.push(
      `demo: ${inFlight} task(s) still in flight after the drain (${final.queued} queued, ${final.running} running)`,
    );
  if (final.lost.length > 0) lines.push(`demo: lost tasks: ${final.lost.slice(0, 20).join(', ')}`);
  lines.push(
    `demo: ${final.submitted} submitted, ${final.complete} complete, ${final.failed} failed, ${final.lost.length} lost`,
  );
  return lines;
}
