import { Controller, Get, Query } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Roles } from '@constellation/auth';
import { EstimatesService, estimatesLimit, MAX_ESTIMATES_LIMIT } from './estimates.service';
import { EstimatesView } from './estimates.views';

@ApiTags('estimates')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/estimates')
export class EstimatesController {
  constructor(private readonly estimates: EstimatesService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({
    summary:
      'What placement has learned from finished attempts (admin): run times per tool fingerprint and per tool and site, and per site its speed factor, throughput and median queue and run times',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: 'integer',
    description: `Most tools listed, most-run first (1-${MAX_ESTIMATES_LIMIT}, default 100)`,
  })
  @ApiOkResponse({ type: EstimatesView })
  list(@Query() query: Record<string, unknown>): Promise<EstimatesView> {
    return this.estimates.list(estimatesLimit(query));
  }
}
