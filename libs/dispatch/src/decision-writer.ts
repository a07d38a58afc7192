import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import {
  ClaimedChange,
  DispatchTask,
  SubmissionItem,
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
    fn: (task: DispatchTask) => ClaimedChange<TaskChange> | null,
    now: Date,
  ): Promise<boolean> {
    return this.tasks.withClaim(id, replica, fn, now, (m, changed) => this.alongside(m, changed, now));
  }

  /** See TaskChangeRepository.withClaims: the completions among them are learned from in one step. */
  withClaims(
    ids: readonly string[],
    replica: string,
    fn: (task: DispatchTask) => ClaimedChange<TaskChange> | null,
    now: Date,
  ): Promise<Set<string>> {
    return this.tasks.withClaims(ids, replica, fn, now, (m, changed) => this.alongside(m, changed, now));
  }

  /** What dispatch keeps of changes written: the copies they abandon, what their completions teach. */
  private async alongside(
    m: EntityManager,
    changed: readonly { task: DispatchTask; change: TaskChange }[],
    now: Date,
  ): Promise<void> {
    for (const { task, change } of changed) {
      if (change.abandon) await this.copies.record(m, task.id, change.abandon, now);
    }
    const completed = changed.filter(({ change }) => change.event?.to === 'COMPLETE');
    await this.learning.learn(
      m,
      completed.map(({ task, change }) => ({ task, logs: change.update.logs })),
      now,
    );
  }

  /** See TaskChangeRepository.recordSubmissions. */
  recordSubmissions(
    replica: string,
    items: readonly SubmissionItem<SubmissionAnswer>[],
    now: Date,
  ): Promise<boolean[]> {
    return this.tasks.recordSubmissions(replica, items, now, {
      needed: (answer) => answer.abandon !== undefined,
      write: async (m, task, answer) => {
        if (answer.abandon) await this.copies.record(m, task.id, answer.abandon, now);
      },
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
