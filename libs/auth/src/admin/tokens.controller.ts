import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../auth.decorators';
import { AuthenticatedPrincipal } from '../authenticated-principal';
import { CurrentPrincipal } from '../current-principal.decorator';
import { IssuedTokenDto, TokenRequestDto } from './principal.dto';
import { PrincipalAdminService } from './principal-admin.service';
import { IssuedTokenView } from './principal.views';

@ApiTags('tokens')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/tokens')
export class TokensController {
  constructor(private readonly admin: PrincipalAdminService) {}

  @Post('rotate')
  @ApiOperation({
    summary:
      'Replace the token this request was made with by a new one (any role); the old one stops working',
  })
  @ApiBody({ type: TokenRequestDto, required: false })
  @ApiCreatedResponse({ type: IssuedTokenDto })
  rotate(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Body() body?: TokenRequestDto,
  ): Promise<IssuedTokenView> {
    return this.admin.rotateOwn(caller, body);
  }

  @Post(':id/revoke')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke a token (admin)' })
  @ApiNoContentResponse()
  revoke(@Param('id') id: string): Promise<void> {
    return this.admin.revoke(id);
  }
}
