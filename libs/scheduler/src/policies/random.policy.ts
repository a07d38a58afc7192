import { Policy } from '../policy';
import { nextInt } from '../prng';

/** Uniform over the sites that can take the task now. */
export const randomPolicy: Policy = ({ placeable }, { prng }) =>
  placeable.length === 0 ? undefined : placeable[nextInt(prng, placeable.length)];
