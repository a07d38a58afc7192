import { loadRatio, minBy, Policy } from '../policy';

/**
 * Data locality alone: fewest input bytes over the WAN, then the shortest transfer; load only breaks the
 * ties left (tasks without inputs), which keeps it from piling every such task on one site.
 */
export const localityPolicy: Policy = ({ placeable }) =>
  minBy(
    placeable,
    (a, b) =>
      a.candidate.wanBytes - b.candidate.wanBytes ||
      a.candidate.transferS - b.candidate.transferS ||
      loadRatio(a.site) - loadRatio(b.site),
  );
