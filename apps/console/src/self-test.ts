// A site self-test as POST /api/v1/sites/{id}/test answers it, and GET /api/v1/sites/{id} repeats the last
// one (`last_self_test`, null before the first; absent from brokers without self-tests).

import type { SelfTestResult } from '../../../libs/registry/src/registry.types';

export type { SelfTestResult, SelfTestStep } from '../../../libs/registry/src/registry.types';

/** "passed, 4 of 4 steps" / "failed at submit, 2 of 4 steps passed". */
export function selfTestSummary(r: SelfTestResult): string {
  const passed = r.steps.filter((s) => s.ok).length;
  if (r.ok) return `passed, ${passed} of ${r.steps.length} steps`;
  const failed = r.steps.find((s) => !s.ok);
  return `failed${failed ? ` at ${failed.name}` : ''}, ${passed} of ${r.steps.length} steps passed`;
}

/** Does this broker run self-tests? Its site documents say so by carrying `last_self_test` at all. */
export function selfTestsOffered(site: object): boolean {
  return 'last_self_test' in site;
}
