import { loadRatio, minBy, Policy } from '../policy';

/**
 * The site whose capacity is least used by the broker's tasks, relative to its size (cores when known), so
 * that a big site is not starved by counting tasks alone.
 */
export const leastLoadedPolicy: Policy = ({ placeable }) =>
  minBy(
    placeable,
    (a, b) =>
      loadRatio(a.site) - loadRatio(b.site) ||
      a.site.load.running + a.site.load.queued - (b.site.load.running + b.site.load.queued),
  );
