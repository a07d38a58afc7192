// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
import { DISPATCH_ENTITIES as COPY_ENTITIES } from './abandoned-copy.entity';
import { ESTIMATE_ENTITIES } from './estimates/estimate.entities';
import { SiteTrackingEntity } from './site-tracking.entity';
import { SiteRequestBudgetEntity } from './site-request-budget.entity';
import { DeliveredOutputEntity } from './delivered-output.entity';

export const DISPATCH_ENTITIES = [
  ...COPY_ENTITIES,
  ...ESTIMATE_ENTITIES,
  SiteTrackingEntity,
  SiteRequestBudgetEntity,
  DeliveredOutputEntity,
];
export { DispatchForTesModule, DispatchModule } from './dispatch.module';
export { SelfTestModule } from './self-test/self-test.module';
export { SelfTestService } from './self-test/self-test.service';
