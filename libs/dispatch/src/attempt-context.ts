import type { AppConfig } from '@constellation/config';
import { AttemptContext } from './attempt-outcome';
import type { DispatchTask } from '@constellation/tes';
import { rerunOnSiteLoss } from './task-requirement';

/**
 * The limits a decision about `task`'s current attempt is taken under; preemptions and take-backs are not
 * failures.
 */
export function attemptContext(
  task: DispatchTask,
  config: Pick<AppConfig, 'maxAttempts' | 'maxPreemptions'>,
): AttemptContext {
  return {
    state: task.state,
    attempt: task.attempt - task.preemptions - task.takeBacks,
    maxAttempts: config.maxAttempts,
    preemptions: task.preemptions,
    maxPreemptions: config.maxPreemptions,
    rerunOnSiteLoss: rerunOnSiteLoss(task.document),
  };
}
