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

/**
 * Learns from a completed attempt in the transaction that records the completion, so every replica's next
 * placement sees it and no completion is learned twice. A failure to learn is logged and rolled back to a
 * savepoint: it must never undo the completion itself.
 */
@Injectable()
export class CompletionLearning {
  private readonly logger = new Logger('estimates');

  constructor(
    private readonly store: EstimateStore,
    private readonly sizes: HeadSizeResolver,
    private readonly tasks: TaskChangeRepository,
  ) {}

  async learn(
    m: EntityManager,
    task: CompletedTask,
    logs: TesTaskLog[] | undefined,
    now: Date,
  ): Promise<void> {
    if (task.siteId === null) return;
    await m.query('SAVEPOINT learn_completion');
    try {
      const times: AttemptTimes = {
        ...(await this.tasks.attemptTimes(m, task.id, task.attempt)),
        finishedAt: now,
      };
      const attempt = String(task.attempt);
      const log = [...(logs ?? task.logs)].reverse().find((l) => l.metadata?.attempt === attempt);
      // Sizes the stores told placement, so the tool's learned median input is real where they answered.
      const completion = completionOf(
        { document: task.document, siteId: task.siteId, log },
        times,
        (url) => this.sizes.known(url) ?? DEFAULT_INPUT_BYTES,
      );
      if (completion !== undefined) await this.store.learn(m, completion);
      await m.query('RELEASE SAVEPOINT learn_completion');
    } catch (err) {
      await m.query('ROLLBACK TO SAVEPOINT learn_completion');
      this.logger.warn(
        { taskId: task.id, err: String(err) },
        `could not learn from the completion of ${task.id}`,
      );
    }
  }
}
