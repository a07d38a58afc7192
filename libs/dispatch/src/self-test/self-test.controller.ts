import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiConflictResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AuthenticatedPrincipal, CurrentPrincipal, Roles } from '@constellation/auth';
import { SelfTestResultDto, type SelfTestResult } from '@constellation/registry';
import { SelfTestService } from './self-test.service';

@ApiTags('sites')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/sites')
export class SelfTestController {
  constructor(private readonly selfTests: SelfTestService) {}

  @Post(':ref/test')
  @HttpCode(200)
  @Roles('provider', 'admin')
  @ApiOperation({
    summary: "Run the site's self-test now (owner or admin; any admin state, pending included)",
    description:
      "Runs a small job of the broker itself through the site's protocol: reach, authenticate, find the " +
      'manager (Pulsar), then per runtime submit a job with an inline input and an input the site fetches ' +
      'from the broker, run it, read stdout and the exit code, get its output delivered back; then cancel a ' +
      'second job and clean up. Answers 200 whether or not the test passed (`ok`); the result is kept as the ' +
      "site's `last_self_test` and recorded in its events. No task is created and no quota is used.",
  })
  @ApiParam({ name: 'ref', description: 'Site id (UUID) or slug' })
  @ApiOkResponse({ type: SelfTestResultDto })
  @ApiConflictResponse({ description: 'A self-test of this site is already running' })
  test(
    @CurrentPrincipal() caller: AuthenticatedPrincipal,
    @Param('ref') ref: string,
  ): Promise<SelfTestResult> {
    return this.selfTests.test(caller, ref);
  }
}
