import { Module } from '@nestjs/common';
import { CredentialCipher } from './credential-cipher';
import { DataStoreRepository } from './data-store.repository';
import { DataStoreService } from './data-store.service';
import { DataStoresController } from './data-stores.controller';
import { SiteHealthRepository } from './site-health.repository';
import { SiteCatalog } from './site-catalog';
import { SiteProbeRequests } from './site-probe-requests';
import { SiteRegistryService } from './site-registry.service';
import { SiteRepository } from './site.repository';
import { SitesController } from './sites.controller';
import { NetworkController } from './network.controller';
import { NetworkRepository } from './network.repository';
import { SiteActivityController } from './site-activity.controller';
import { SiteActivityRepository } from './site-activity.repository';
import { RegistryCodeController } from './registry-code.controller';
import { RegistryCodeService } from './registry-code.service';
import { RegistrySnapshotRepository } from './registry-snapshot.repository';

@Module({
  controllers: [
    SitesController,
    SiteActivityController,
    DataStoresController,
    NetworkController,
    RegistryCodeController,
  ],
  providers: [
    CredentialCipher,
    SiteRepository,
    SiteHealthRepository,
    DataStoreRepository,
    SiteRegistryService,
    SiteProbeRequests,
    SiteCatalog,
    DataStoreService,
    NetworkRepository,
    SiteActivityRepository,
    RegistrySnapshotRepository,
    RegistryCodeService,
  ],
  exports: [SiteHealthRepository, SiteProbeRequests, SiteCatalog, SiteRegistryService, RegistryCodeService],
})
export class RegistryModule {}
