import { Controller, Get, Param } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal } from '@constellation/auth';
import { TaskEventsView, TaskPlacementView } from './task-insight.views';
import { TaskService } from './task.service';

const ID = { name: 'id', description: 'TES task id' };

/**
 * The broker's own view of a task, beside the TES API (whose schemas leave no room for it): why it went
 * where it went, and its history. Served by the library that owns tasks, under the same visibility rule as
 * the TES routes: its submitter and admins; a 404 for anyone else.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/tasks')
export class TaskInsightController {
  constructor(private readonly tasks: TaskService) {}

  @Get(':id/placement')
  @ApiOkResponse({ type: TaskPlacementView })
  @ApiOperation({
    summary:
      'The placement of the current attempt with every candidate site and its estimate terms; for a queued task, where it would go now',
  })
  @ApiParam(ID)
  getPlacement(@CurrentPrincipal() caller: AuthenticatedPrincipal, @Param('id') id: string) {
    return this.tasks.placement(caller, id);
  }

  @Get(':id/events')
  @ApiOkResponse({ type: TaskEventsView })
  @ApiOperation({
    summary:
      "The task's history, oldest first: its state changes (kind state) and the copies it left at sites that the broker stopped or found finished (kind copy), with site, attempt and reason",
  })
  @ApiParam(ID)
  getEvents(@CurrentPrincipal() caller: AuthenticatedPrincipal, @Param('id') id: string) {
    return this.tasks.events(caller, id);
  }
}
