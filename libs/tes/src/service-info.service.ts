import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { InstallationEntity } from './installation.entity';
import { buildServiceInfo, SITE_INPUT_SCHEMES, SiteInputSchemes, TesServiceInfo } from './service-info';

@Injectable()
export class ServiceInfoService {
  private readonly startedAt = new Date();
  private createdAt: Date | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    @Optional() @Inject(SITE_INPUT_SCHEMES) private readonly siteSchemes?: SiteInputSchemes,
  ) {}

  async get(): Promise<TesServiceInfo> {
    // The installation's creation time never changes: read once.
    this.createdAt ??=
      (await this.db.getRepository(InstallationEntity).findOne({ where: { id: 1 } }))?.createdAt ??
      this.startedAt;
    const schemes = (await this.siteSchemes?.()) ?? [];
    return buildServiceInfo(this.config, this.createdAt, this.startedAt, this.config.environment, schemes);
  }
}
