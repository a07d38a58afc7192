import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { TaskChangeRepository, type TaskDocument, type TesTaskLog } from '@constellation/tes';
import { HeadSizeResolver } from '../sizing/head-size-resolver';
import { DEFAULT_INPUT_BYTES } from '../task-requirement';
import { AttemptTimes, completionOf } from './completion';
import { EstimateStore } from './estimate.store';

/** The task as the learning step needs it (a DispatchTask fits). */
export interface CompletedTask {
  id: string;
  document: TaskDocument;
  siteId: string | null;
  attempt: number;
  logs: TesTaskLog[];
}

/** A completed attempt, and the logs its completion writes (the task's own when it writes none). */
export interface LearnedCompletion {
  task: CompletedTask;
  logs: TesTaskLog[] | undefined;
}

/**
 * Learns from completed attempts in the transaction that records the completions, so every replica's next
 * placement sees them and no completion is learned twice: one read of their events and one learning step
 * for the lot. A failure to learn is logged and rolled back to a savepoint: it must never undo the
 * completions themselves.
 */
@Injectable()
export class CompletionLearning {
  private readonly logger = new Logger('estimates');

  constructor(
    private readonly store: EstimateStore,
    private readonly sizes: HeadSizeResolver,
    private readonly tasks: TaskChangeRepository,
  ) {}

  async learn(m: EntityManager, completed: readonly LearnedCompletion[], now: Date): Promise<void> {
    const placed = completed.filter(({ task }) => task.siteId !== null);
    if (placed.length === 0) return;
    await m.query('SAVEPOINT learn_completion');
    try {
      const times = await this.tasks.attemptTimes(
        m,
        placed.map(({ task }) => ({ taskId: task.id, attempt: task.attempt })),
      );
      const completions = placed.flatMap(({ task, logs }) => {
        const attemptTimes: AttemptTimes = { ...times.get(`${task.id} ${task.attempt}`), finishedAt: now };
        const attempt = String(task.attempt);
        const log = [...(logs ?? task.logs)].reverse().find((l) => l.metadata?.attempt === attempt);
        // Sizes the stores told placement, so the tool's learned median input is real where they answered.
        const completion = completionOf(
          { document: task.document, siteId: task.siteId as string, log },
          attemptTimes,
          (url) => this.sizes.known(url) ?? DEFAULT_INPUT_BYTES,
        );
        return completion === undefined ? [] : [completion];
      });
      await this.store.learn(m, completions);
      await m.query('RELEASE SAVEPOINT learn_completion');
    } catch (err) {
      await m.query('ROLLBACK TO SAVEPOINT learn_completion');
      this.logger.warn(
        { taskIds: placed.map(({ task }) => task.id), err: String(err) },
        `could not learn from the completion of ${placed.map(({ task }) => task.id).join(', ')}`,
      );
    }
  }
}
