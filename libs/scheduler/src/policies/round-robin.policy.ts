import { Policy } from '../policy';

/** The next site in id order after the one chosen last, skipping those that cannot take the task now. */
export const roundRobinPolicy: Policy = ({ placeable }, { lastRoundRobinSiteId }) => {
  if (placeable.length === 0) return undefined;
  if (lastRoundRobinSiteId === undefined) return placeable[0];
  return placeable.find((p) => p.site.id > lastRoundRobinSiteId) ?? placeable[0];
};
