import { Inject, Injectable } from '@nestjs/common';
import { BrokerError, ErrorCode, isUuid, newId } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { DataStoreEntity } from './data-store.entity';
import { mergeDataStoreDocument } from './data-store-document';
import { DataStoreDocumentDto, DataStoreUpdateDto } from './dto/data-store.dto';
import { DataStoreView, toDataStoreDescription, toDataStoreView } from './data-store.mapper';
import { DataStoreRepository } from './data-store.repository';
import { encodePageToken, filterCountry, readListQuery } from './list-query';
import { Page } from './site-registry.service';

@Injectable()
export class DataStoreService {
  constructor(
    private readonly stores: DataStoreRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(body: DataStoreDocumentDto, now = new Date()): Promise<DataStoreView> {
    const d = mergeDataStoreDocument(body);
    const store = Object.assign(new DataStoreEntity(), {
      id: newId(),
      ...d,
      createdAt: now,
      updatedAt: now,
    });
    return toDataStoreView(await this.stores.insert(store));
  }

  async list(query: Record<string, unknown>): Promise<Page<DataStoreView>> {
    const { page, filters } = readListQuery(query, this.config.pageSizeDefault, { country: filterCountry });
    const rows = await this.stores.list(filters, page);
    const more = rows.length > page.pageSize;
    const shown = more ? rows.slice(0, page.pageSize) : rows;
    return {
      items: shown.map(toDataStoreView),
      nextPageToken: more ? encodePageToken(shown[shown.length - 1].id) : null,
    };
  }

  async get(id: string): Promise<DataStoreView> {
    return toDataStoreView(await this.find(id));
  }

  async update(id: string, body: DataStoreUpdateDto, now = new Date()): Promise<DataStoreView> {
    const current = await this.find(id);
    const d = mergeDataStoreDocument(body, toDataStoreDescription(current));
    Object.assign(current, d, { updatedAt: now });
    return toDataStoreView(await this.stores.save(current));
  }

  /** Sites that listed the store as local simply stop doing so. */
  async delete(id: string): Promise<void> {
    if (!isUuid(id) || !(await this.stores.delete(id.toLowerCase()))) {
      throw new BrokerError(ErrorCode.DataStoreNotFound, `no data store ${id}`);
    }
  }

  private async find(id: string): Promise<DataStoreEntity> {
    const store = isUuid(id) ? await this.stores.findById(id.toLowerCase()) : null;
    if (!store) throw new BrokerError(ErrorCode.DataStoreNotFound, `no data store ${id}`);
    return store;
  }
}
