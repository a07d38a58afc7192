import { Controller, Get, Query } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal, Roles } from '@constellation/auth';
import { SEARCH_PAGE_SIZE_DEFAULT, parseTaskSearchQuery } from './task-search.query';
import { TaskSearchPageView } from './task-search.views';
import { TaskSearchPage, TaskService } from './task.service';
import { TES_STATES } from './tes.types';

/**
 * Task search with the filters the TES list lacks (submitter, site, creation time), for the console and
 * operators; same visibility as the TES routes: a submitter's own tasks, everyone's for admins.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/tasks')
export class TaskSearchController {
  constructor(private readonly tasks: TaskService) {}

  @Roles('submitter', 'admin')
  @Get()
  @ApiOperation({
    summary:
      'Search tasks by submitter, site, state, name prefix and creation time, newest first, keyset-paged; a submitter finds only its own tasks',
  })
  @ApiQuery({ name: 'submitter', required: false, description: 'Principal id or name (admins)' })
  @ApiQuery({
    name: 'site',
    required: false,
    description: 'Site id or slug: the site of the current or last attempt',
  })
  @ApiQuery({ name: 'state', required: false, enum: TES_STATES })
  @ApiQuery({ name: 'name_prefix', required: false })
  @ApiQuery({
    name: 'created_after',
    required: false,
    description: 'RFC 3339 date-time or date: tasks created at or after it',
  })
  @ApiQuery({
    name: 'created_before',
    required: false,
    description: 'RFC 3339 date-time or date: tasks created before it',
  })
  @ApiQuery({
    name: 'page_size',
    required: false,
    type: 'integer',
    description: `1 to 2047; default ${SEARCH_PAGE_SIZE_DEFAULT}`,
  })
  @ApiQuery({ name: 'page_token', required: false, description: 'next_page_token of the page before' })
  @ApiOkResponse({ type: TaskSearchPageView })
  search(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Query() query: Record<string, unknown>,
  ): Promise<TaskSearchPage> {
    return this.tasks.search(caller, parseTaskSearchQuery(query));
  }
}
