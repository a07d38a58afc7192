import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal, Roles } from '@constellation/auth';
import { FieldValidator } from '@constellation/common';
import {
  RegistryApplyRequestDto,
  RegistryApplyResultDto,
  RegistryDocumentDto,
} from './dto/registry-document.dto';
import { RegistryDocument } from './registry-entries';
import { ApplyResult, RegistryCodeService } from './registry-code.service';

/** `true`/`false` in the query string; absent leaves the choice to the body. */
function readFlag(v: FieldValidator, query: Record<string, unknown>, name: string): boolean | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '') return true;
  if (raw === 'false') return false;
  return v.fail(name, 'must be true or false');
}

// `::` is a literal colon for Fastify's router (Google API style custom methods, as TES's tasks/{id}:cancel).
@ApiTags('registry')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1')
export class RegistryCodeController {
  constructor(private readonly registry: RegistryCodeService) {}

  @Get('registry::export')
  @Roles('admin')
  @ApiOperation({
    summary: 'The registry as one document (admin): every site and data store, never credentials',
    description:
      'Sorted by slug and name, without ids, timestamps, health or load, so that exports can be kept in Git and ' +
      'compared; POST /api/v1/registry:apply takes the same document.',
  })
  @ApiOkResponse({ type: RegistryDocumentDto })
  export(): Promise<RegistryDocument> {
    return this.registry.export();
  }

  @Post('registry::apply')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Plan, and optionally make, the changes that make the registry match a document (admin)',
    description:
      'A dry run unless dry_run=false (query or body): the answer is the plan (create, update with the changed ' +
      'fields, drain, remove). With prune=true, sites and data stores the document does not list are removed; a ' +
      'site with unfinished tasks is drained and removed by a later apply once idle. Credentials are never in ' +
      'the document: an entry names environment variables and the request carries their values in ' +
      'site_credentials (npm run cli -- registry apply does both). An apply while another is in progress is ' +
      'refused with 409 CONFLICT; dry runs never are.',
  })
  @ApiQuery({ name: 'dry_run', required: false, type: Boolean, description: 'Default true' })
  @ApiQuery({ name: 'prune', required: false, type: Boolean, description: 'Default false' })
  @ApiBody({ type: RegistryApplyRequestDto })
  @ApiOkResponse({ type: RegistryApplyResultDto })
  apply(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
  ): Promise<ApplyResult> {
    const v = new FieldValidator();
    const dryRun = readFlag(v, query, 'dry_run');
    const prune = readFlag(v, query, 'prune');
    v.throwIfInvalid();
    return this.registry.apply(caller, body, { dryRun, prune });
  }
}
