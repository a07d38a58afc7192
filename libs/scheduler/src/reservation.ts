import type { Placement, SiteSnapshot } from './snapshot';

/**
 * Records what a placement means for the sites' reservations (`load.reservation`): the task's reservation
 * moves to the site it reserved, and goes when the task was placed, is infeasible or waits without one.
 */
export function updateReservations(
  sites: readonly SiteSnapshot[],
  taskId: string,
  placement: Placement,
): void {
  for (const site of sites) {
    if (site.load.reservation?.taskId === taskId) delete site.load.reservation;
  }
  if (placement.reservation === undefined) return;
  const { siteId, ...reservation } = placement.reservation;
  const site = sites.find((s) => s.id === siteId);
  if (site !== undefined) site.load.reservation = reservation;
}
