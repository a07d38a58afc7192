/**
 * Where a queued task would go now, as the placement of the dispatch library would decide it (a placement
 * record: policy, decision, candidates). Provided by dispatch, which tes does not import; absent, a queued
 * task's placement answer has no preview.
 */
export const PLACEMENT_PREVIEW = Symbol('PLACEMENT_PREVIEW');
export type PlacementPreview = (taskId: string) => Promise<Record<string, unknown> | null>;
