import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode } from '@constellation/common';
import { SiteRegistryService, type SelfTestResult } from '@constellation/registry';
import { SelfTestRunner } from './self-test.runner';

/** First key of the session advisory locks that let one self-test at a time run per site (any replica). */
const SELF_TEST_LOCK_SPACE = 417_119_017;

/** Runs a site's self-test for a caller allowed to, and keeps the result with the site and in its events. */
@Injectable()
export class SelfTestService {
  private readonly logger = new Logger('self-test');

  constructor(
    private readonly registry: SiteRegistryService,
    private readonly runner: SelfTestRunner,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  async test(caller: AuthenticatedPrincipal, ref: string): Promise<SelfTestResult> {
    const site = await this.registry.forSelfTest(caller, ref);
    // A second run beside the first (a double click, two admins) would only load the site twice. The lock is
    // held by one connection for the test, so it goes with the process if the process dies.
    const lock = this.db.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }]: { locked: boolean }[] = await lock.query(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
        [SELF_TEST_LOCK_SPACE, site.id],
      );
      if (!locked) {
        throw new BrokerError(
          ErrorCode.Conflict,
          `a self-test of site ${site.slug} is already running; its result will be the site's last_self_test`,
        );
      }
      try {
        const result = await this.runner.run(site.id, site.tags);
        await this.registry.recordSelfTest(caller, site.id, result);
        const failed = result.steps.filter((s) => !s.ok).map((s) => s.name);
        this.logger.log(
          { siteId: site.id, site: site.slug, ok: result.ok, failed },
          `self-test of site ${site.slug} ${result.ok ? 'passed' : `failed at ${failed[0]}`}`,
        );
        return result;
      } finally {
        await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SELF_TEST_LOCK_SPACE, site.id]);
      }
    } finally {
      await lock.release();
    }
  }
}
