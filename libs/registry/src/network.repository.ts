import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { withTransientRetry } from '@constellation/persistence';
import { DataStoreEntity } from './data-store.entity';
import { SiteEntity } from './site.entity';

const READ = { label: 'network read' };

/** Sites shown on the public map: every one an admin has approved (pending ones are not yet the Network's). */
const APPROVED = ['active', 'draining', 'disabled'];

export interface StoreSiteLink {
  dataStoreId: string;
  siteId: string;
  tasks: number;
}

/** The reads behind the public network summary. */
@Injectable()
export class NetworkRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  approvedSites(): Promise<SiteEntity[]> {
    return withTransientRetry(
      () =>
        this.db.getRepository(SiteEntity).find({
          where: { adminState: In(APPROVED) },
          order: { slug: 'ASC' },
        }),
      READ,
    );
  }

  dataStores(): Promise<DataStoreEntity[]> {
    return withTransientRetry(
      () => this.db.getRepository(DataStoreEntity).find({ order: { name: 'ASC' } }),
      READ,
    );
  }

  /**
   * Which sites took tasks since `since` that read an input from each data store: an input belongs to a store
   * when its URL starts with one of the store's prefixes (LIKE wildcards in a prefix are matched literally).
   */
  async recentLinks(since: Date): Promise<StoreSiteLink[]> {
    const rows: { data_store_id: string; site_id: string; tasks: string }[] = await withTransientRetry(
      () =>
        this.db.query(
          `SELECT d.id AS data_store_id, t.site_id, count(DISTINCT t.id) AS tasks
             FROM task t
             CROSS JOIN LATERAL jsonb_array_elements(
               CASE WHEN jsonb_typeof(t.document->'inputs') = 'array' THEN t.document->'inputs' ELSE '[]'::jsonb END
             ) AS i(input)
             JOIN data_store d ON EXISTS (
               SELECT 1 FROM unnest(d.url_prefixes) AS p(prefix)
                WHERE (i.input->>'url') LIKE replace(replace(replace(p.prefix, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
             )
            WHERE t.site_id IS NOT NULL AND t.created_at >= $1
            GROUP BY d.id, t.site_id`,
          [since],
        ),
      READ,
    );
    return rows.map((r) => ({ dataStoreId: r.data_store_id, siteId: r.site_id, tasks: Number(r.tasks) }));
  }
}
