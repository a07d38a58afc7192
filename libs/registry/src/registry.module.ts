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

@Module({
  controllers: [SitesController, DataStoresController],
  providers: [
    CredentialCipher,
    SiteRepository,
    SiteHealthRepository,
    DataStoreRepository,
    SiteRegistryService,
    SiteProbeRequests,
    DataStoreService,
  ],
  exports: [SiteHealthRepository, SiteProbeRequests, CredentialCipher, SiteRegistryService],
})
export class RegistryModule {}
