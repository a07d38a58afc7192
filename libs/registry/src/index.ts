// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { RegistryModule } from './registry.module';
export {
  SiteHealthRepository,
  type HealthChange,
  type ProbeOutcome,
  type ProbeTarget,
} from './site-health.repository';
export { SiteProbeRequests } from './site-probe-requests';
export {
  RECENT_SITE_MS,
  SiteCatalog,
  type CatalogDataStore,
  type CatalogSite,
  type SiteCapacity,
  type SiteConnection,
  type SiteSummary,
} from './site-catalog';
export { SITE_ACTIONS, SiteRegistryService, type SiteAction } from './site-registry.service';
export { RegistryCodeService, type ApplyResult } from './registry-code.service';
export { readRegistryDocument, REGISTRY_DOCUMENT_VERSION } from './registry-document';
export { type RegistryDocument } from './registry-entries';
export { type PlannedChange } from './registry-plan';
export { SelfTestResultDto, SiteDocumentDto, SiteUpdateDto } from './dto/site.dto';
export { type SelfTestResult, type SelfTestStep } from './registry.types';
import { DataStoreEntity } from './data-store.entity';
import { SiteEventEntity } from './site-event.entity';
import { SiteEntity } from './site.entity';

export const REGISTRY_ENTITIES = [SiteEntity, SiteEventEntity, DataStoreEntity];
