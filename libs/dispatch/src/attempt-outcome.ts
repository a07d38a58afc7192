import type { RemoteStatus } from '@constellation/adapters';
import type { TesState } from '@constellation/tes';

/** What happened to the current attempt at its site, as dispatch observed it. */
export type AttemptEvent =
  | { kind: 'status'; status: RemoteStatus }
  /** The site no longer knows the attempt, or cancelled/failed it on its own. */
  | { kind: 'lost'; reason: string }
  /** The site would not take the attempt (rejected, authentication, protocol). */
  | { kind: 'refused'; reason: string }
  /** Probes declared the site offline while the attempt was there, or it stopped answering about it. */
  | { kind: 'site_offline'; reason: string };

export interface AttemptContext {
  /** The broker's state of the task: INITIALIZING or RUNNING. */
  state: TesState;
  attempt: number;
  maxAttempts: number;
  preemptions: number;
  maxPreemptions: number;
  /** `constellation.rerun_on_site_loss` (default true). */
  rerunOnSiteLoss: boolean;
}

export type AttemptDecision =
  /** Still on its way: record what the site says (state INITIALIZING or RUNNING). */
  | { action: 'progress'; state: 'INITIALIZING' | 'RUNNING' }
  /** Final: the task ends in `state`. */
  | { action: 'finish'; state: TesState; reason: string }
  /** Back to QUEUED for another attempt; `exclude` keeps the site out of the next placement. */
  | { action: 'requeue'; reason: string; exclude: boolean; preempted: boolean };

function failover(ctx: AttemptContext, reason: string): AttemptDecision {
  // An attempt that started may still be running where the broker can no longer see it.
  if (ctx.state === 'RUNNING' && !ctx.rerunOnSiteLoss) {
    return {
      action: 'finish',
      state: 'SYSTEM_ERROR',
      reason: `${reason}; not run again because constellation.rerun_on_site_loss is false`,
    };
  }
  if (ctx.attempt >= ctx.maxAttempts) {
    return {
      action: 'finish',
      state: 'SYSTEM_ERROR',
      reason: `${reason}; gave up after ${ctx.attempt} attempt(s) (CONSTELLATION_MAX_ATTEMPTS=${ctx.maxAttempts})`,
    };
  }
  return { action: 'requeue', reason, exclude: true, preempted: false };
}

function lastSystemLog(status: RemoteStatus): string {
  const last = status.systemLogs[status.systemLogs.length - 1];
  return last === undefined ? '' : `: ${last.slice(0, 500)}`;
}

/**
 * The failover rules of ARCHITECTURE.md's life cycle as one pure function: a site that refuses or loses an
 * attempt, or dies, sends the task back to QUEUED with that site excluded, up to the attempt limit;
 * preemption is retried apart (the site is not at fault) up to its own limit.
 */
export function decideAttempt(ctx: AttemptContext, event: AttemptEvent): AttemptDecision {
  switch (event.kind) {
    case 'refused':
    case 'lost':
    case 'site_offline':
      return failover(ctx, event.reason);
    case 'status':
      break;
  }
  const { status } = event;
  switch (status.state) {
    case 'UNKNOWN':
    case 'QUEUED':
    case 'INITIALIZING':
      // A site may report QUEUED again after RUNNING (a requeue on its side); the broker's state never goes back.
      return { action: 'progress', state: ctx.state === 'RUNNING' ? 'RUNNING' : 'INITIALIZING' };
    case 'RUNNING':
    case 'PAUSED':
      return { action: 'progress', state: 'RUNNING' };
    case 'COMPLETE':
      return { action: 'finish', state: 'COMPLETE', reason: 'completed at the site' };
    case 'EXECUTOR_ERROR':
      return { action: 'finish', state: 'EXECUTOR_ERROR', reason: 'an executor failed at the site' };
    case 'SYSTEM_ERROR':
      return failover(ctx, `the site reported SYSTEM_ERROR${lastSystemLog(status)}`);
    case 'CANCELING':
    case 'CANCELED':
      return failover(ctx, `the site cancelled the attempt on its own (${status.state})`);
    case 'PREEMPTED':
      if (ctx.preemptions >= ctx.maxPreemptions) {
        return {
          action: 'finish',
          state: 'PREEMPTED',
          reason: `preempted ${ctx.preemptions + 1} time(s) (CONSTELLATION_MAX_PREEMPTIONS=${ctx.maxPreemptions})`,
        };
      }
      return { action: 'requeue', reason: 'preempted at the site', exclude: false, preempted: true };
  }
}
