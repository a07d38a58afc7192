import { Injectable } from '@nestjs/common';
import {
  DispatchTask,
  SubmissionWrite,
  TaskChange as TaskRowChange,
  TaskChangeRepository,
} from '@constellation/tes';
import { AbandonedCopyRepository, AbandonNote } from './abandoned-copy.repository';
import { addSystemLog, withAttemptLog } from './attempt-log';
import { CompletionLearning } from './estimates/completion-learning';

/** An update, the event it records and the copy it abandons, as one dispatch step decides them. */
export interface TaskChange extends TaskRowChange {
  abandon?: AbandonNote;
}

/** A site's answer to a submission as the task records it, and a copy the attempt may have left there. */
export interface SubmissionAnswer extends SubmissionWrite {
  /** A copy the attempt may have left at the site, to look for later. */
  abandon?: AbandonNote;
}

/**
 * Writes a dispatch step's decision about a task: the task's row and history through the tes library, which
 * owns them, and in the same transaction what dispatch keeps of it (the copy left at a site, what a
 * completion teaches the estimates).
 */
@Injectable()
export class DecisionWriter {
  constructor(
    private readonly tasks: TaskChangeRepository,
    private readonly copies: AbandonedCopyRepository,
    private readonly learning: CompletionLearning,
  ) {}

  /** See TaskChangeRepository.withClaim. */
  withClaim(
    id: string,
    replica: string,
    fn: (task: DispatchTask) => (TaskChange & { quiet?: boolean }) | null,
    now: Date,
  ): Promise<boolean> {
    return this.tasks.withClaim(id, replica, fn, now, async (m, task, change) => {
      if (change.abandon) await this.copies.record(m, id, change.abandon, now);
      if (change.event?.to === 'COMPLETE') await this.learning.learn(m, task, change.update.logs, now);
    });
  }

  /** See TaskChangeRepository.recordSubmissions. */
  recordSubmissions(
    replica: string,
    items: readonly { id: string; answer: (task: DispatchTask) => SubmissionAnswer }[],
    now: Date,
  ): Promise<boolean[]> {
    return this.tasks.recordSubmissions(replica, items, now, async (m, task, answer) => {
      if (answer.abandon) await this.copies.record(m, task.id, answer.abandon, now);
    });
  }

  /** Leaves a copy the step could not stop now to the abandoned-copies step, which tries until the site answers. */
  leaveCopy(taskId: string, note: AbandonNote, now: Date): Promise<void> {
    return this.copies.leave(taskId, note, now);
  }

  /**
   * Records, on a task, what became of a copy it had left at a site (stopped, or found finished anyway): an
   * event of kind `copy` and a line in the system logs of the attempt that made the copy.
   */
  recordCopy(taskId: string, attempt: number, siteId: string, reason: string, now: Date): Promise<void> {
    return this.tasks.recordCopy(taskId, { siteId, attempt, reason }, now, (logs) =>
      withAttemptLog(logs, attempt, (l) => addSystemLog(l, reason.slice(0, 2000))),
    );
  }
}
