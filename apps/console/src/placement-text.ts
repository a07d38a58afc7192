import { formatDuration } from './format';
import type { Candidate, PlacementRecord } from './types';

/** The decision in words; a placed task's with the run time placement expected at the chosen site. */
export function decisionText(r: PlacementRecord): string {
  if (r.decision === 'place') {
    const where = `placed on ${r.site ?? r.site_id}`;
    // Records written before placement stored expected_run_s carry only the candidates' run terms.
    return r.expected_run_s === undefined
      ? where
      : `${where}, expected to run ${formatDuration(r.expected_run_s)}`;
  }
  if (r.decision === 'wait') return 'waiting: no feasible site can take it now';
  return 'no site could ever run it';
}

const BLOCKED: Record<string, string> = {
  draining: 'draining: takes no new tasks',
  offline: 'offline',
  unknown_health: 'health not known yet',
  full: 'full: at its concurrent-task limit',
};

/** Why a candidate won or lost, in words. */
export function whyText(c: Candidate, r: PlacementRecord): string {
  if (c.siteId === r.site_id) return 'chosen: earliest estimated completion';
  if (!c.feasible)
    return (c.unmet ?? []).map((u) => `${u.requirement}: ${u.detail}`).join('; ') || 'cannot run it';
  if (!c.placeable) return BLOCKED[c.blocked ?? ''] ?? c.blocked ?? 'cannot take it now';
  const chosen = r.candidates.find((x) => x.siteId === r.site_id);
  if (chosen) return `later by ${formatDuration(c.totalS - chosen.totalS)}`;
  return 'placeable';
}
