export * from './snapshot';
export { haversineKm, bandwidthBytesPerS, transferSeconds } from './geo';
export { mulberry32, nextInt } from './prng';
export type { Prng } from './prng';
export { resolveResources, urlScheme, DEFAULT_CORES, MEMORY_GIB_PER_DEFAULT_CORE } from './requirements';
export type { ResolvedResources } from './requirements';
export { unmetRequirements, blockedReason } from './feasibility';
export { estimateTerms, queueWaitSeconds, releaseFloor, groupInputsByStore, isLocal } from './estimate';
export type { Terms, StoreBytes, ReleaseFloor } from './estimate';
export { POLICY_NAMES, DEFAULT_POLICY, isPolicyName, loadRatio } from './policy';
export type { PolicyName, PolicyContext, Policy, PolicyInput, PlaceableSite } from './policy';
export { tpvBrokerScore } from './policies/tpv-broker.policy';
export { place, POLICY_BY_NAME } from './placement';
export type { PlaceOptions } from './placement';
export { updateReservations } from './reservation';
export { fairShareOrder } from './fair-share';
export type { WaitingTask, ShareAccount, FairShareOrder } from './fair-share';
export {
  bucketDensity,
  bucketedDemand,
  bucketedLocalityPrice,
  coreEquivalents,
  DENSITY_BUCKETS_PER_DECADE,
  densityBucket,
  localDensity,
  LOCALITY_FILL,
  LOCALITY_MIN_SPAN_S,
  LOCALITY_WINDOW_S,
  localityPrice,
} from './locality-price';
export type { DemandBucket, LocalDemand } from './locality-price';
export { localDemandOf } from './local-demand';
export type { DemandEntry } from './local-demand';
export { reservedAgainst, headroomAfter, LOCAL_RESERVE_SHARE } from './policies/ect.policy';
export * from './estimator';
export { DEFAULT_TAKE_BACK, overdueAtSite, TAKE_BACK_LOOK_S, takeBackChoice } from './take-back';
export type { TakeBack, TakeBackSettings } from './take-back';
