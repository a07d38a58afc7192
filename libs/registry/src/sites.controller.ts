import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiOkResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal, Roles } from '@constellation/auth';
import {
  SiteActionDto,
  SiteDocumentDto,
  SiteEventPageDto,
  SitePageDto,
  SiteUpdateDto,
  SiteViewDto,
} from './dto/site.dto';
import { ADMIN_STATES, HEALTH_STATES, SITE_KINDS } from './registry.types';
import { SiteEventView, SiteView } from './site.mapper';
import { SiteAction, SiteRegistryService } from './site-registry.service';

const REF = { name: 'ref', description: 'Site id (UUID) or slug' };

@ApiTags('sites')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/sites')
export class SitesController {
  constructor(private readonly registry: SiteRegistryService) {}

  @Post()
  @Roles('provider', 'admin')
  @ApiOperation({
    summary: 'Register a site owned by the caller; it stays pending until an admin approves it',
  })
  @ApiCreatedResponse({ type: SiteViewDto })
  register(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Body() body: SiteDocumentDto,
  ): Promise<SiteView> {
    return this.registry.register(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'List sites, oldest first, with filters' })
  @ApiQuery({ name: 'admin_state', required: false, enum: ADMIN_STATES })
  @ApiQuery({ name: 'health', required: false, enum: HEALTH_STATES })
  @ApiQuery({ name: 'country', required: false, description: 'ISO 3166-1 alpha-2' })
  @ApiQuery({ name: 'kind', required: false, enum: SITE_KINDS })
  @ApiQuery({ name: 'owner', required: false, description: 'Owner principal id' })
  @ApiQuery({ name: 'page_size', required: false, type: 'integer' })
  @ApiQuery({ name: 'page_token', required: false })
  @ApiOkResponse({ type: SitePageDto })
  async list(
    @Query() query: Record<string, unknown>,
  ): Promise<{ sites: SiteView[]; next_page_token: string | null }> {
    const page = await this.registry.list(query);
    return { sites: page.items, next_page_token: page.nextPageToken };
  }

  @Get(':ref')
  @ApiOperation({ summary: 'One site (credentials are never returned)' })
  @ApiParam(REF)
  @ApiOkResponse({ type: SiteViewDto })
  get(@Param('ref') ref: string): Promise<SiteView> {
    return this.registry.get(ref);
  }

  @Patch(':ref')
  @Roles('provider', 'admin')
  @ApiOperation({ summary: "Change a site's description (owner or admin); absent fields keep their value" })
  @ApiParam(REF)
  @ApiOkResponse({ type: SiteViewDto })
  update(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Body() body: SiteUpdateDto,
  ): Promise<SiteView> {
    return this.registry.update(caller, ref, body);
  }

  @Post(':ref/approve')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'pending -> active (admin)' })
  @ApiParam(REF)
  @ApiBody({ type: SiteActionDto, required: false })
  @ApiOkResponse({ type: SiteViewDto })
  @ApiConflictResponse({
    description:
      'Not pending; or CONSTELLATION_REQUIRE_SELF_TEST_FOR_APPROVAL is set and the last self-test did not pass',
  })
  approve(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Body() body?: SiteActionDto,
  ) {
    return this.act(caller, ref, 'approve', body);
  }

  @Post(':ref/drain')
  @HttpCode(200)
  @Roles('provider', 'admin')
  @ApiOperation({ summary: 'active -> draining: no new tasks, running ones finish (owner or admin)' })
  @ApiParam(REF)
  @ApiBody({ type: SiteActionDto, required: false })
  @ApiOkResponse({ type: SiteViewDto })
  drain(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Body() body?: SiteActionDto,
  ) {
    return this.act(caller, ref, 'drain', body);
  }

  @Post(':ref/resume')
  @HttpCode(200)
  @Roles('provider', 'admin')
  @ApiOperation({ summary: 'draining -> active (owner or admin); disabled -> active (admin)' })
  @ApiParam(REF)
  @ApiBody({ type: SiteActionDto, required: false })
  @ApiOkResponse({ type: SiteViewDto })
  resume(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Body() body?: SiteActionDto,
  ) {
    return this.act(caller, ref, 'resume', body);
  }

  @Post(':ref/disable')
  @HttpCode(200)
  @Roles('provider', 'admin')
  @ApiOperation({ summary: 'Take a site out of service (owner or admin)' })
  @ApiParam(REF)
  @ApiBody({ type: SiteActionDto, required: false })
  @ApiOkResponse({ type: SiteViewDto })
  disable(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
    @Body() body?: SiteActionDto,
  ) {
    return this.act(caller, ref, 'disable', body);
  }

  @Get(':ref/events')
  @ApiOperation({ summary: "A site's history: registration, edits, admin-state and health changes" })
  @ApiParam(REF)
  @ApiQuery({ name: 'page_size', required: false, type: 'integer' })
  @ApiQuery({ name: 'page_token', required: false })
  @ApiOkResponse({ type: SiteEventPageDto })
  async events(
    @Param('ref') ref: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ events: SiteEventView[]; next_page_token: string | null }> {
    const page = await this.registry.events(ref, query);
    return { events: page.items, next_page_token: page.nextPageToken };
  }

  private act(
    caller: AuthenticatedPrincipal,
    ref: string,
    action: SiteAction,
    body: SiteActionDto | undefined,
  ): Promise<SiteView> {
    return this.registry.transition(caller, ref, action, body?.reason);
  }
}
