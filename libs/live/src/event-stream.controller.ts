import { Controller, Get, Query, Res } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AuthenticatedPrincipal, CurrentPrincipal } from '@constellation/auth';
import { EventStreams } from './event-streams';
import { parseStreamQuery } from './stream-query';

const DESCRIPTION = `Server-sent events (text/event-stream) with the Authorization header like every other call: a
browser's EventSource cannot send it, so read the stream with fetch. First \`event: ready\` (read the state you
show after it), then \`event: task\` for each state change of a task the caller may see (its own; all for
admins) and \`event: site\` for each change of a site's health, admin state or load, from every replica, and a
comment line as heartbeat. The stream closes after CONSTELLATION_EVENT_STREAM_MAX_SECONDS, when the broker
stops, or when the broker loses its database connection: reconnect (after the \`retry\` it sent) and read again.`;

@ApiTags('events')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/events')
export class EventStreamController {
  constructor(private readonly streams: EventStreams) {}

  @Get('stream')
  @ApiOperation({ summary: 'Live task and site changes as server-sent events', description: DESCRIPTION })
  @ApiProduces('text/event-stream')
  @ApiQuery({
    name: 'types',
    required: false,
    description: 'Comma-separated: task, site; default both',
  })
  @ApiQuery({ name: 'task', required: false, description: "Only this task's events (its id)" })
  @ApiQuery({ name: 'site', required: false, description: "Only this site's events (its id)" })
  @ApiResponse({ status: 200, description: 'The event stream', content: { 'text/event-stream': {} } })
  async stream(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Query() query: Record<string, unknown>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.streams.start(caller, parseStreamQuery(query), reply);
  }
}
