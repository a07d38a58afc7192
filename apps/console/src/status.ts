import type { AdminState, Health } from './types';

/** Marker fill: what probes saw, unless people took the site out of service. */
export function siteColor(health: Health, admin: AdminState): string {
  if (admin === 'disabled') return '#6b7280';
  if (health === 'offline') return '#c62828';
  if (admin === 'draining') return '#b26a00';
  if (health === 'up') return '#1b7f3b';
  return '#5b6b80';
}

export function siteStatusLabel(health: Health, admin: AdminState): string {
  if (admin === 'disabled') return 'disabled';
  if (admin === 'pending') return 'pending approval';
  const h = health === 'unknown' ? 'health unknown' : health;
  return admin === 'draining' ? `draining, ${h}` : h;
}

/** Running tasks over the admission limit, within 0..1 (a site may briefly run more than its limit). */
export function loadFraction(running: number, limit: number): number {
  if (limit <= 0) return running > 0 ? 1 : 0;
  return Math.max(0, Math.min(1, running / limit));
}

/** Load ring colour: green while there is room, amber past 70 %, red when full. */
export function loadColor(fraction: number): string {
  if (fraction >= 1) return '#c62828';
  if (fraction >= 0.7) return '#d97706';
  return '#15803d';
}

/** Marker radius grows with the square root of capacity (area follows capacity), within 6..22 px. */
export function markerRadius(maxConcurrentTasks: number): number {
  return Math.max(6, Math.min(22, 4 + 2.2 * Math.sqrt(Math.max(0, maxConcurrentTasks))));
}
