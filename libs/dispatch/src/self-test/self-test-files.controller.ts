import { Controller, Get, HttpCode, Param, Put, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BrokerError, ErrorCode, Public, readAtMost } from '@constellation/common';
import { SELF_TEST_FILES_PATH, SELF_TEST_MAX_BYTES, SelfTestFiles } from './self-test-files';

const GONE = 'no such self-test file: the test is over or the URL is wrong';

/**
 * The files a self-test job fetches and delivers. Public to the auth guard because sites send no broker
 * token: the URL's token is the credential, valid for one test only. The trailing name is for the site's
 * logs and the job's file name; only the token matters.
 */
@ApiExcludeController()
@Public()
@SkipThrottle()
@Controller(SELF_TEST_FILES_PATH)
export class SelfTestFilesController {
  constructor(private readonly files: SelfTestFiles) {}

  @Get(':token/:name')
  async serve(@Param('token') token: string, @Res() res: FastifyReply): Promise<void> {
    const content = await this.files.fetchInput(token);
    if (content === null) throw new BrokerError(ErrorCode.NotFound, GONE);
    await res.header('content-type', 'text/plain; charset=utf-8').send(content);
  }

  @Put(':token/:name')
  @HttpCode(204)
  async receive(@Param('token') token: string, @Req() req: FastifyRequest): Promise<void> {
    // JSON bodies were parsed by Fastify already; any other type is read here, bounded.
    const parsed = req.body;
    const { bytes, more } =
      parsed === undefined
        ? await readAtMost(req.raw, SELF_TEST_MAX_BYTES)
        : { bytes: Buffer.from(JSON.stringify(parsed)), more: false };
    if (more) {
      throw new BrokerError(
        ErrorCode.PayloadTooLarge,
        `a self-test output is at most ${SELF_TEST_MAX_BYTES} bytes`,
      );
    }
    if (!(await this.files.receiveOutput(token, bytes))) throw new BrokerError(ErrorCode.NotFound, GONE);
  }
}
