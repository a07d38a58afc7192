import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BrokerError, ErrorCode } from '@constellation/common';
import { withTransientRetry } from '@constellation/persistence';
import { DataStoreEntity } from './data-store.entity';
import { PageRequest } from './list-query';

/** Registry reads are run again after a lost connection (see withTransientRetry). */
const READ = { label: 'data store read' };

export interface DataStoreFilter {
  country?: string;
}

function nameTaken(err: unknown, name: string): BrokerError | unknown {
  const e = err as { driverError?: { code?: string; constraint?: string } };
  if (e.driverError?.code === '23505' && e.driverError.constraint === 'data_store_name_key') {
    return new BrokerError(ErrorCode.Conflict, `a data store named ${name} already exists`, [
      { path: 'name', reason: 'is already taken' },
    ]);
  }
  return err;
}

@Injectable()
export class DataStoreRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(store: DataStoreEntity): Promise<DataStoreEntity> {
    try {
      return await this.db.getRepository(DataStoreEntity).save(store);
    } catch (err) {
      throw nameTaken(err, store.name);
    }
  }

  async save(store: DataStoreEntity): Promise<DataStoreEntity> {
    try {
      return await this.db.getRepository(DataStoreEntity).save(store);
    } catch (err) {
      throw nameTaken(err, store.name);
    }
  }

  findById(id: string): Promise<DataStoreEntity | null> {
    return withTransientRetry(() => this.db.getRepository(DataStoreEntity).findOne({ where: { id } }), READ);
  }

  list(filter: DataStoreFilter, page: PageRequest): Promise<DataStoreEntity[]> {
    const q = this.db.getRepository(DataStoreEntity).createQueryBuilder('d');
    if (filter.country) q.andWhere('d.country = :country', { country: filter.country });
    if (page.after) q.andWhere('d.id > :after', { after: page.after });
    return withTransientRetry(
      () =>
        q
          .orderBy('d.id', 'ASC')
          .limit(page.pageSize + 1)
          .getMany(),
      READ,
    );
  }

  /** The subset of `ids` that name no data store. */
  async missing(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: { id: string }[] = await withTransientRetry(
      () => this.db.query('SELECT id FROM data_store WHERE id = ANY($1::uuid[])', [ids]),
      READ,
    );
    const found = new Set(rows.map((r) => r.id));
    return ids.filter((id) => !found.has(id));
  }

  /** Deletes the store and removes it from every site's local list in one transaction; false if absent. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const res: [unknown[], number] = await m.query('DELETE FROM data_store WHERE id = $1', [id]);
      if (res[1] === 0) return false;
      await m.query(
        `UPDATE site SET local_data_store_ids = array_remove(local_data_store_ids, $1::uuid), updated_at = now()
         WHERE $1::uuid = ANY(local_data_store_ids)`,
        [id],
      );
      return true;
    });
  }
}
