import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode } from '@constellation/common';
import { SiteActivityRepository } from './site-activity.repository';
import { SiteRegistryService } from './site-registry.service';

class LoadSampleView {
  @ApiProperty({ format: 'date-time' })
  at!: string;
  @ApiProperty({ description: 'Broker tasks running (or being submitted) at the site at that time' })
  running!: number;
}

class SiteTaskView {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ type: String, nullable: true })
  name!: string | null;
  @ApiProperty({ description: 'TES state' })
  state!: string;
  @ApiProperty({ format: 'date-time' })
  creation_time!: string;
}

export class SiteActivityView {
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty()
  hours!: number;
  @ApiProperty({ description: 'Seconds between samples' })
  step_seconds!: number;
  @ApiProperty({ type: [LoadSampleView], description: 'Oldest first, ending now' })
  load!: LoadSampleView[];
  @ApiProperty({
    type: [SiteTaskView],
    description: "The latest tasks placed at the site, newest first: the caller's own, or all for admins",
  })
  recent_tasks!: SiteTaskView[];
}

const MAX_HOURS = 168;
/** About 120 samples whatever the window: enough for a small chart, cheap to compute. */
const SAMPLES = 120;

@ApiTags('sites')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/sites')
export class SiteActivityController {
  constructor(
    private readonly registry: SiteRegistryService,
    private readonly activity: SiteActivityRepository,
  ) {}

  @Get(':ref/activity')
  @ApiOperation({ summary: "A site's load over the last hours and the latest tasks placed there" })
  @ApiParam({ name: 'ref', description: 'Site id (UUID) or slug' })
  @ApiQuery({ name: 'hours', required: false, type: 'integer', description: `1 to ${MAX_HOURS}; default 6` })
  @ApiOkResponse({ type: SiteActivityView })
  async get(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Query('hours') hoursParam: unknown,
  ): Promise<SiteActivityView> {
    const hours = readHours(hoursParam);
    const site = await this.registry.get(ref);
    const to = new Date();
    const stepSeconds = Math.max(60, Math.round((hours * 3600) / SAMPLES));
    const from = new Date(to.getTime() - hours * 3600_000);
    const [load, tasks] = await Promise.all([
      this.activity.loadSeries(site.id, from, to, stepSeconds),
      this.activity.recentTasks(site.id, 20, caller.role === 'admin' ? undefined : caller.id),
    ]);
    return {
      site_id: site.id,
      hours,
      step_seconds: stepSeconds,
      load: load.map((s) => ({ at: s.at.toISOString(), running: s.running })),
      recent_tasks: tasks.map((t) => ({
        id: t.id,
        name: t.name,
        state: t.state,
        creation_time: t.createdAt.toISOString(),
      })),
    };
  }
}

function readHours(v: unknown): number {
  if (v === undefined || v === '') return 6;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOURS) {
    throw new BrokerError(ErrorCode.ValidationFailed, `hours must be an integer from 1 to ${MAX_HOURS}`, [
      { path: 'hours', reason: `must be an integer from 1 to ${MAX_HOURS}` },
    ]);
  }
  return n;
}
