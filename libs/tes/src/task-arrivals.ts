/**
 * Told each time this process accepts a task, so dispatch can place it at once rather than at its next round.
 * Provided by dispatch, which tes does not import; absent (a process without dispatch), nobody is told.
 */
export const TASK_ARRIVALS = Symbol('TASK_ARRIVALS');
export type TaskArrivals = () => void;
