import { Module } from '@nestjs/common';
import { CredentialCipher } from './credential-cipher';
import { DataStoreRepository } from './data-store.repository';
import { DataStoreService } from './data-store.service';
import { DataStoresController } from './data-stores.controller';
import { SiteHealthRepository } from './site-health.repository';
import { SiteProbeRequests } from './site-probe-requests';
import { SiteRegistryService } from './site-registry.service';
import { SiteRepository } from './site.repository';
import { SitesController } from './sites.controller';
import { NetworkController } from './network.controller';
import { NetworkRepository } from './network.repository';
import { SiteActivityController } from './site-activity.controller';
import { SiteActivityRepository } from './site-activity.repository';

@Module({
  controllers: [SitesController, SiteActivityController, DataStoresController, NetworkController],
  providers: [
    CredentialCipher,
    SiteRepository,
    SiteHealthRepository,
    DataStoreRepository,
    SiteRegistryService,
    SiteProbeRequests,
    DataStoreService,
    NetworkRepository,
    SiteActivityRepository,
  ],
  exports: [SiteHealthRepository, SiteProbeRequests, CredentialCipher, SiteRegistryService],
})
export class RegistryModule {}
