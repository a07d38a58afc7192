import type { RemoteStatus } from '@constellation/adapters';
import type { AppConfig } from '@constellation/config';
import { AttemptDecision } from './attempt-outcome';
import { addSystemLog, mergeRemoteStatus, withAttemptLog } from './attempt-log';
import type { DispatchTask, TaskUpdate } from '@constellation/tes';
import { TaskChange } from './decision-writer';

/**
 * What every way back to the queue resets (a failover, a preemption, a take-back): the attempt's site, its
 * copy there and everything tracking knew of it; placement starts from nothing but the task.
 */
export function backInQueue(now: Date) {
  return {
    state: 'QUEUED',
    siteId: null,
    remoteId: null,
    queuedAt: now,
    nextCheckAt: null,
    failingSince: null,
    submitDoubtAt: null,
    trackIntervalMs: null,
    remoteState: null,
  } as const satisfies TaskUpdate;
}

/**
 * Turns a decision about the current attempt into the row update and event to write. `status` is what the
 * site reported, when it reported anything.
 */
export function changeFor(
  task: DispatchTask,
  decision: AttemptDecision,
  status: RemoteStatus | undefined,
  now: Date,
  config: Pick<AppConfig, 'trackSeconds'>,
): TaskChange {
  const siteId = task.siteId;
  const attempt = task.attempt;
  const stamp = now.toISOString();
  switch (decision.action) {
    case 'progress': {
      const logs = status
        ? withAttemptLog(task.logs, attempt, (l) => mergeRemoteStatus(l, status))
        : undefined;
      const update: TaskUpdate = {
        state: decision.state,
        logs,
        nextCheckAt: new Date(now.getTime() + config.trackSeconds * 1000),
        failingSince: null,
      };
      if (decision.state === task.state) return { update };
      return {
        update,
        event: { from: task.state, to: decision.state, siteId, attempt, reason: 'the site started the task' },
      };
    }
    case 'finish': {
      const logs = withAttemptLog(task.logs, attempt, (l) => {
        let log = status ? mergeRemoteStatus(l, status) : l;
        if (decision.state !== 'COMPLETE' && decision.state !== 'EXECUTOR_ERROR') {
          log = addSystemLog(log, decision.reason);
        }
        return log.end_time === undefined ? { ...log, end_time: stamp } : log;
      });
      return {
        update: {
          state: decision.state,
          logs,
          nextCheckAt: null,
          failingSince: null,
          trackIntervalMs: null,
          remoteState: null,
        },
        event: { from: task.state, to: decision.state, siteId, attempt, reason: decision.reason },
      };
    }
    case 'requeue': {
      const logs = withAttemptLog(task.logs, attempt, (l) => {
        const log = addSystemLog(status ? mergeRemoteStatus(l, status) : l, decision.reason);
        return log.end_time === undefined ? { ...log, end_time: stamp } : log;
      });
      const excluded =
        decision.exclude && siteId !== null && !task.excludedSiteIds.includes(siteId)
          ? [...task.excludedSiteIds, siteId]
          : task.excludedSiteIds;
      return {
        update: {
          ...backInQueue(now),
          logs,
          excludedSiteIds: excluded,
          preemptions: decision.preempted ? task.preemptions + 1 : task.preemptions,
        },
        event: { from: task.state, to: 'QUEUED', siteId, attempt, reason: decision.reason },
      };
    }
  }
}

/**
 * The site finished the attempt and left its outputs for the broker to deliver: the task stays RUNNING and
 * passes from tracking to the delivery step, which alone decides how it ends.
 */
export function deliveryChange(task: DispatchTask, status: RemoteStatus, now: Date): TaskChange {
  const logs = withAttemptLog(task.logs, task.attempt, (l) =>
    addSystemLog(mergeRemoteStatus(l, status), 'finished at the site; the broker delivers the outputs'),
  );
  const update: TaskUpdate = {
    state: 'RUNNING',
    logs,
    deliveryTries: 0,
    nextCheckAt: now,
    failingSince: null,
  };
  if (task.state === 'RUNNING') return { update };
  return {
    update,
    event: {
      from: task.state,
      to: 'RUNNING',
      siteId: task.siteId,
      attempt: task.attempt,
      reason: 'the site finished the task; the broker delivers its outputs',
    },
  };
}
