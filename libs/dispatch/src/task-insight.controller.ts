import { Controller, Get, Param } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { TaskEventsView, TaskPlacementView } from './task-insight.views';
import { AuthenticatedPrincipal, CurrentPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode, isUuid } from '@constellation/common';
import { DispatchRepository, DispatchTask } from './dispatch.repository';
import { PlacementRecord, PlacementService } from './placement.service';

const ID = { name: 'id', description: 'TES task id' };

/**
 * The broker's own view of a task, beside the TES API (whose schemas leave no room for it): why it went
 * where it went, and every state change. Visible to its submitter and to admins; a 404 for anyone else.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/tasks')
export class TaskInsightController {
  constructor(
    private readonly repo: DispatchRepository,
    private readonly placement: PlacementService,
  ) {}

  @Get(':id/placement')
  @ApiOkResponse({ type: TaskPlacementView })
  @ApiOperation({
    summary:
      'The placement of the current attempt with every candidate site and its estimate terms; for a queued task, where it would go now',
  })
  @ApiParam(ID)
  async getPlacement(@CurrentPrincipal() caller: AuthenticatedPrincipal, @Param('id') id: string) {
    const task = await this.visible(caller, id);
    const out: {
      task_id: string;
      state: string;
      attempt: number;
      excluded_site_ids: string[];
      placement: PlacementRecord | null;
      preview?: PlacementRecord;
    } = {
      task_id: task.id,
      state: task.state,
      attempt: task.attempt,
      excluded_site_ids: task.excludedSiteIds,
      placement: task.placement as PlacementRecord | null,
    };
    if (task.state === 'QUEUED') out.preview = await this.placement.preview(task);
    return out;
  }

  @Get(':id/events')
  @ApiOkResponse({ type: TaskEventsView })
  @ApiOperation({
    summary:
      "The task's history, oldest first: its state changes (kind state) and the copies it left at sites that the broker stopped or found finished (kind copy), with site, attempt and reason",
  })
  @ApiParam(ID)
  async getEvents(@CurrentPrincipal() caller: AuthenticatedPrincipal, @Param('id') id: string) {
    const task = await this.visible(caller, id);
    const events = await this.repo.events(task.id);
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

  private async visible(
    caller: AuthenticatedPrincipal,
    id: string,
  ): Promise<DispatchTask & { placement: Record<string, unknown> | null }> {
    const task = isUuid(id) ? await this.repo.find(id.toLowerCase()) : null;
    if (!task || (caller.role !== 'admin' && task.submitterId !== caller.id)) {
      throw new BrokerError(ErrorCode.TaskNotFound, `no task ${id.slice(0, 100)}`);
    }
    return task;
  }
}
