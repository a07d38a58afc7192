import { Inject, Injectable, Optional } from '@nestjs/common';
import { BrokerError, ErrorCode, isUuid } from '@constellation/common';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { requestHash } from './idempotency-key';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { assertInlineContentWithin } from './inline-content';
import { PLACEMENT_PREVIEW, PlacementPreview } from './placement-preview';
import { TASK_ARRIVALS, TaskArrivals } from './task-arrivals';
import { listTasksResponseJson, ParsedListQuery } from './list-query';
import { StateChange, TaskListQuery, TaskRepository } from './task.repository';
import { TaskSearchFilter, TaskSearchRepository } from './task-search.repository';
import { encodeSearchToken, TaskSearchQuery } from './task-search.query';
import { validateTaskDocument } from './task-document.validator';
import type { TaskEventKind } from './task-event.entity';
import { TERMINAL_STATES, TesState, TesView } from './tes.types';
import type { TaskSearchPage } from './task-search.page';

export type { TaskSearchPage } from './task-search.page';

/**
 * The TES visibility rule, in one place: a submitter sees only its own tasks (its id is returned), an admin
 * everyone's (undefined).
 */
function onlySubmitter(principal: AuthenticatedPrincipal): string | undefined {
  return principal.role === 'admin' ? undefined : principal.id;
}

@Injectable()
export class TaskService {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly searches: TaskSearchRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(PLACEMENT_PREVIEW) private readonly preview?: PlacementPreview,
    @Optional() @Inject(TASK_ARRIVALS) private readonly arrivals?: TaskArrivals,
  ) {}

  /**
   * Stores a new task; with an Idempotency-Key (already parsed), a key this submitter sent in the last
   * 24 hours with the same body answers that task's id instead.
   */
  async create(
    principal: AuthenticatedPrincipal,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<{ id: string }> {
    const { document, ignoredBackendParameters } = validateTaskDocument(body);
    assertInlineContentWithin(document, this.config.maxInlineBytesPerTask);
    const reason =
      ignoredBackendParameters.length > 0
        ? `accepted; ignored unsupported backend_parameters: ${ignoredBackendParameters.join(', ')}`
        : 'accepted';
    if (idempotencyKey !== undefined) {
      const key = { key: idempotencyKey, requestHash: requestHash(body) };
      const id = await this.tasks.insertWithIdempotencyKey(principal.id, key, document, new Date(), reason);
      // A repeated key finds its task already placed or queued: one more wake-up costs one empty round.
      this.arrivals?.();
      return { id };
    }
    const task = await this.tasks.insert(principal.id, document, new Date(), reason);
    this.arrivals?.();
    return { id: task.id };
  }

  /** The task's view as JSON text (a tesTask). */
  async get(principal: AuthenticatedPrincipal, id: string, view: TesView): Promise<string> {
    return (await this.visible(principal, id, (i) => this.tasks.findJson(i, view))).json;
  }

  /** A page of tasks as JSON text (a tesListTasksResponse). */
  async list(principal: AuthenticatedPrincipal, q: ParsedListQuery): Promise<string> {
    const query: TaskListQuery = {
      submitterId: onlySubmitter(principal),
      namePrefix: q.namePrefix,
      state: q.state,
      tags: q.tags,
      beforeId: q.beforeId,
    };
    return listTasksResponseJson(await this.tasks.listJson(query, q.view, q.pageSize));
  }

  /**
   * Tasks by submitter, site, state, name and creation time, newest first, under the TES visibility rule:
   * a submitter finds only its own tasks (naming another submitter finds nothing), an admin everyone's.
   */
  async search(principal: AuthenticatedPrincipal, q: TaskSearchQuery): Promise<TaskSearchPage> {
    const filter: TaskSearchFilter = {
      visibleTo: onlySubmitter(principal),
      state: q.state,
      namePrefix: q.namePrefix,
      createdAfter: q.createdAfter,
      createdBefore: q.createdBefore,
      after: q.after,
    };
    if (q.submitter !== undefined) {
      if (isUuid(q.submitter)) filter.submitterId = q.submitter;
      else filter.submitterName = q.submitter;
    }
    if (q.site !== undefined) {
      if (isUuid(q.site)) filter.siteId = q.site;
      else filter.siteSlug = q.site;
    }
    // One row past the page tells whether another follows, so the last page carries no token.
    const rows = await this.searches.search(filter, q.pageSize + 1);
    const page = rows.slice(0, q.pageSize);
    const last = page[page.length - 1];
    return {
      tasks: page.map((r) => ({
        id: r.id,
        name: r.name,
        state: r.state,
        creation_time: r.created_at.toISOString(),
        submitter_id: r.submitter_id,
        submitter: r.submitter,
        site_id: r.site_id,
        site: r.site,
      })),
      ...(rows.length > q.pageSize && last
        ? { next_page_token: encodeSearchToken({ createdAtMicros: last.created_at_micros, id: last.id }) }
        : {}),
    };
  }

  /**
   * Cancels a task that has not finished: to CANCELING, and straight on to CANCELED when it was never placed;
   * a placed task stays CANCELING until dispatch has stopped it at its site (or found it never got there). A finished
   * task is left as it is (the call still succeeds, as the spec allows).
   */
  async cancel(principal: AuthenticatedPrincipal, id: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const task = await this.visible(principal, id, (i) => this.tasks.findById(i));
      if (TERMINAL_STATES.includes(task.state) || task.state === 'CANCELING') return;
      const changes: StateChange[] = [{ to: 'CANCELING', reason: `cancel requested by ${principal.name}` }];
      if (task.siteId === null) changes.push({ to: 'CANCELED', reason: 'not yet placed on a site' });
      if (await this.tasks.transition(task, changes, new Date())) return;
    }
    throw new BrokerError(ErrorCode.Conflict, `task ${id} kept changing while it was being canceled; retry`);
  }

  /** Another submitter's task is a 404, exactly like an unknown id, so ids leak nothing. */
  /** Where the task's current attempt went and why; for a queued task, also where it would go now. */
  async placement(principal: AuthenticatedPrincipal, id: string): Promise<TaskPlacement> {
    const task = await this.visible(principal, id, (i) => this.tasks.findPlacement(i));
    const out: TaskPlacement = {
      task_id: task.id,
      state: task.state,
      attempt: task.attempt,
      excluded_site_ids: task.excludedSiteIds,
      placement: task.placement,
    };
    if (task.state === 'QUEUED' && this.preview) {
      const preview = await this.preview(task.id);
      if (preview !== null) out.preview = preview;
    }
    return out;
  }

  /** The task's history, oldest first: state changes and the copies it left at sites. */
  async events(principal: AuthenticatedPrincipal, id: string): Promise<TaskEvents> {
    const task = await this.visible(principal, id, (i) => this.tasks.findPlacement(i));
    const events = await this.tasks.events(task.id);
    return {
      task_id: task.id,
      events: events.map((e) => ({
        time: e.created_at.toISOString(),
        from: e.from_state,
        to: e.to_state,
        site_id: e.site_id,
        attempt: e.attempt,
        reason: e.reason,
        kind: e.kind,
      })),
    };
  }

  private async visible<T extends { submitterId: string }>(
    principal: AuthenticatedPrincipal,
    id: string,
    find: (id: string) => Promise<T | null>,
  ): Promise<T> {
    const task = isUuid(id) ? await find(id.toLowerCase()) : null;
    const only = onlySubmitter(principal);
    if (!task || (only !== undefined && task.submitterId !== only)) {
      throw new BrokerError(ErrorCode.TaskNotFound, `no task ${id.slice(0, 100)}`);
    }
    return task;
  }
}

/** GET /api/v1/tasks/{id}/placement (TaskPlacementView). */
export interface TaskPlacement {
  task_id: string;
  state: TesState;
  attempt: number;
  excluded_site_ids: string[];
  placement: Record<string, unknown> | null;
  preview?: Record<string, unknown>;
}

/** GET /api/v1/tasks/{id}/events (TaskEventsView). */
export interface TaskEvents {
  task_id: string;
  events: {
    time: string;
    from: TesState | null;
    to: TesState;
    site_id: string | null;
    attempt: number;
    reason: string;
    kind: TaskEventKind;
  }[];
}
