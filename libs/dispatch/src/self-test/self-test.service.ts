import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { SiteRegistryService, type SelfTestResult } from '@constellation/registry';
import { SelfTestRunner } from './self-test.runner';

/** Runs a site's self-test for a caller allowed to, and keeps the result with the site and in its events. */
@Injectable()
export class SelfTestService {
  private readonly logger = new Logger('self-test');

  constructor(
    private readonly registry: SiteRegistryService,
    private readonly runner: SelfTestRunner,
  ) {}

  async test(caller: AuthenticatedPrincipal, ref: string): Promise<SelfTestResult> {
    const site = await this.registry.forSelfTest(caller, ref);
    const result = await this.runner.run(site.id, site.tags);
    await this.registry.recordSelfTest(caller, site.id, result);
    const failed = result.steps.filter((s) => !s.ok).map((s) => s.name);
    this.logger.log(
      { siteId: site.id, site: site.slug, ok: result.ok, failed },
      `self-test of site ${site.slug} ${result.ok ? 'passed' : `failed at ${failed[0]}`}`,
    );
    return result;
  }
}
