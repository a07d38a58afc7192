import { Injectable } from '@nestjs/common';
import { BrokerError, ErrorCode, isUuid } from '@constellation/common';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { encodePageToken, ParsedListQuery } from './list-query';
import { StateChange, TaskColumns, TaskRepository } from './task.repository';
import { TaskEntity } from './task.entity';
import { renderTask } from './task-views';
import { validateTaskDocument } from './task-document.validator';
import { TERMINAL_STATES, TesTask, TesView } from './tes.types';

export interface TaskPage {
  tasks: TesTask[];
  next_page_token?: string;
}

@Injectable()
export class TaskService {
  constructor(private readonly tasks: TaskRepository) {}

  async create(principal: AuthenticatedPrincipal, body: unknown): Promise<{ id: string }> {
    const { document, ignoredBackendParameters } = validateTaskDocument(body);
    const reason =
      ignoredBackendParameters.length > 0
        ? `accepted; ignored unsupported backend_parameters: ${ignoredBackendParameters.join(', ')}`
        : 'accepted';
    const task = await this.tasks.insert(principal.id, document, new Date(), reason);
    return { id: task.id };
  }

  async get(principal: AuthenticatedPrincipal, id: string, view: TesView): Promise<TesTask> {
    return renderTask(await this.visibleTask(principal, id, view === 'MINIMAL' ? 'minimal' : 'view'), view);
  }

  async list(principal: AuthenticatedPrincipal, q: ParsedListQuery): Promise<TaskPage> {
    // One extra row tells whether another page exists, so the last page carries no token.
    const rows = await this.tasks.list(
      {
        submitterId: principal.role === 'admin' ? undefined : principal.id,
        namePrefix: q.namePrefix,
        state: q.state,
        tags: q.tags,
        beforeId: q.beforeId,
        limit: q.pageSize + 1,
      },
      q.view === 'MINIMAL' ? 'minimal' : 'view',
    );
    const page = rows.slice(0, q.pageSize);
    const out: TaskPage = { tasks: page.map((t) => renderTask(t, q.view)) };
    if (rows.length > q.pageSize) out.next_page_token = encodePageToken(page[page.length - 1].id);
    return out;
  }

  /**
   * Cancels a task that has not finished: to CANCELING, and straight on to CANCELED when it was never placed;
   * a placed task stays CANCELING until dispatch has stopped it at its site (or found it never got there). A finished
   * task is left as it is (the call still succeeds, as the spec allows).
   */
  async cancel(principal: AuthenticatedPrincipal, id: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const task = await this.visibleTask(principal, id);
      if (TERMINAL_STATES.includes(task.state) || task.state === 'CANCELING') return;
      const changes: StateChange[] = [{ to: 'CANCELING', reason: `cancel requested by ${principal.name}` }];
      if (task.siteId === null) changes.push({ to: 'CANCELED', reason: 'not yet placed on a site' });
      if (await this.tasks.transition(task, changes, new Date())) return;
    }
    throw new BrokerError(ErrorCode.Conflict, `task ${id} kept changing while it was being canceled; retry`);
  }

  /** Another submitter's task is a 404, exactly like an unknown id, so ids leak nothing. */
  private async visibleTask(
    principal: AuthenticatedPrincipal,
    id: string,
    columns: TaskColumns = 'all',
  ): Promise<TaskEntity> {
    const task = isUuid(id) ? await this.tasks.findById(id.toLowerCase(), columns) : null;
    if (!task || (principal.role !== 'admin' && task.submitterId !== principal.id)) {
      throw new BrokerError(ErrorCode.TaskNotFound, `no task ${id.slice(0, 100)}`);
    }
    return task;
  }
}
