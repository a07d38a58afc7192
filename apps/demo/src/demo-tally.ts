import type { SimSiteServer } from '../../sim-site/src';
import type { BrokerApi } from './broker-api';

const STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'CANCELING',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
] as const;
export const FINAL = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);
/** The tag the broker puts on every task it sends to a TES site (libs/adapters). */
const TASK_TAG = 'constellation.task';

/** The broker's state of each accepted task; a task the broker no longer lists is absent. */
export async function brokerStates(api: BrokerApi, token: string, accepted: Iterable<string>) {
  const ours = new Set(accepted);
  const states = new Map<string, string>();
  for (const state of STATES) {
    for (const id of await api.idsInState(token, state)) if (ours.has(id)) states.set(id, state);
  }
  return states;
}

export interface Tally {
  submitted: number;
  queued: number;
  running: number;
  complete: number;
  failed: number;
  /** Accepted, yet neither finished nor in flight: unknown to the broker, or placed at a site that lacks it. */
  lost: string[];
}

/** Which accepted tasks some simulated site holds (in any state), by the broker's task tag. */
export function heldAtSites(sim: SimSiteServer): Set<string> {
  const held = new Set<string>();
  for (const slug of sim.slugs) for (const id of sim.site(slug).statesByTag(TASK_TAG).keys()) held.add(id);
  return held;
}

export function tally(accepted: string[], states: Map<string, string>, held: Set<string> | undefined): Tally {
  const t: Tally = { submitted: accepted.length, queued: 0, running: 0, complete: 0, failed: 0, lost: [] };
  for (const id of accepted) {
    const s = states.get(id);
    if (s === undefined) t.lost.push(id);
    else if (s === 'COMPLETE') t.complete++;
    else if (FINAL.has(s)) t.failed++;
    else if (s === 'QUEUED') t.queued++;
    // RUNNING at the broker must mean held by a site; INITIALIZING may still be on its way to one.
    else if (held !== undefined && s === 'RUNNING' && !held.has(id)) t.lost.push(id);
    else t.running++;
  }
  return t;
}

/**
 * `it03 4, cz01 2+1q, it02 dead (+14 idle)`: each busy site's tasks holding cores there (+ those waiting at
 * the site), each faulty one's fault, and how many are idle, so that 26 sites fit on a line.
 */
export function siteSpread(sim: SimSiteServer): string {
  const parts: string[] = [];
  let idle = 0;
  for (const s of sim.status()) {
    const name = s.slug.replace(/^eu-pulsar-/, '');
    if (s.fault) parts.push(`${name} ${s.fault}`);
    else if (s.counts.running + s.counts.queued === 0) idle++;
    else parts.push(`${name} ${s.counts.running}${s.counts.queued ? `+${s.counts.queued}q` : ''}`);
  }
  if (idle > 0) parts.push(parts.length === 0 ? `${idle} sites idle` : `(+${idle} idle)`);
  return parts.join(', ');
}
