export * from './registry.types';
export * from './site.entity';
export * from './site-event.entity';
export * from './data-store.entity';
export * from './credential-cipher';
export * from './site-document';
export { SiteDocumentDto, SiteUpdateDto } from './dto/site.dto';
export * from './data-store-document';
export * from './site.mapper';
export * from './data-store.mapper';
export * from './site-health.repository';
export * from './site-probe-requests';
export * from './site-registry.service';
export * from './data-store.service';
export * from './registry.module';

import { DataStoreEntity } from './data-store.entity';
import { SiteEventEntity } from './site-event.entity';
import { SiteEntity } from './site.entity';

export const REGISTRY_ENTITIES = [SiteEntity, SiteEventEntity, DataStoreEntity];
