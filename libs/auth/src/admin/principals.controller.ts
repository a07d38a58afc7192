import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../auth.decorators';
import { AuthenticatedPrincipal, ROLES } from '../authenticated-principal';
import { CurrentPrincipal } from '../current-principal.decorator';
import {
  CreatedPrincipalDto,
  IssuedTokenDto,
  NewPrincipalDto,
  PrincipalPageDto,
  PrincipalUpdateDto,
  PrincipalViewDto,
  TokenListDto,
  TokenRequestDto,
} from './principal.dto';
import { PrincipalAdminService, PrincipalPageView } from './principal-admin.service';
import { IssuedTokenView, PrincipalView, TokenView } from './principal.views';

const REF = { name: 'ref', description: 'Principal id (UUID) or name' };

@ApiTags('principals')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/principals')
export class PrincipalsController {
  constructor(private readonly admin: PrincipalAdminService) {}

  @Get('me')
  @ApiOperation({ summary: 'The calling principal' })
  @ApiOkResponse({ type: PrincipalViewDto })
  me(@CurrentPrincipal() caller: AuthenticatedPrincipal): Promise<PrincipalView> {
    return this.admin.get(caller.id);
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a principal (admin), with a first token shown once' })
  @ApiCreatedResponse({ type: CreatedPrincipalDto })
  create(
    @Body() body: NewPrincipalDto,
  ): Promise<{ principal: PrincipalView; token: IssuedTokenView | null }> {
    return this.admin.create(body);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'List principals (admin)' })
  @ApiQuery({ name: 'role', required: false, enum: ROLES })
  @ApiQuery({ name: 'page_size', required: false, type: 'integer' })
  @ApiQuery({ name: 'page_token', required: false })
  @ApiOkResponse({ type: PrincipalPageDto })
  list(@Query() query: Record<string, unknown>): Promise<PrincipalPageView> {
    return this.admin.list(query);
  }

  @Get(':ref')
  @Roles('admin')
  @ApiParam(REF)
  @ApiOkResponse({ type: PrincipalViewDto })
  get(@Param('ref') ref: string): Promise<PrincipalView> {
    return this.admin.get(ref);
  }

  @Patch(':ref')
  @Roles('admin')
  @ApiOperation({ summary: 'Change role, allowed sites, quota or share weight (admin)' })
  @ApiParam(REF)
  @ApiOkResponse({ type: PrincipalViewDto })
  update(@Param('ref') ref: string, @Body() body: PrincipalUpdateDto): Promise<PrincipalView> {
    return this.admin.update(ref, body);
  }

  @Delete(':ref')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Delete a principal and its tokens (admin); 409 while it owns sites or tasks' })
  @ApiParam(REF)
  @ApiNoContentResponse()
  delete(@CurrentPrincipal() caller: AuthenticatedPrincipal, @Param('ref') ref: string): Promise<void> {
    return this.admin.delete(caller, ref);
  }

  @Get(':ref/tokens')
  @Roles('admin')
  @ApiOperation({ summary: "A principal's tokens, without the tokens themselves (admin)" })
  @ApiParam(REF)
  @ApiOkResponse({ type: TokenListDto })
  tokens(@Param('ref') ref: string): Promise<{ tokens: TokenView[] }> {
    return this.admin.listTokens(ref);
  }

  @Post(':ref/tokens')
  @Roles('admin')
  @ApiOperation({ summary: 'Issue a token for a principal (admin); shown once' })
  @ApiParam(REF)
  @ApiBody({ type: TokenRequestDto, required: false })
  @ApiCreatedResponse({ type: IssuedTokenDto })
  issue(@Param('ref') ref: string, @Body() body?: TokenRequestDto): Promise<IssuedTokenView> {
    return this.admin.issueFor(ref, body);
  }
}
