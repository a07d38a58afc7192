import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BrokerError, ErrorCode } from '@constellation/common';
import { withTransientRetry } from '@constellation/persistence';
import { DataStoreEntity } from './data-store.entity';
import { SiteEntity } from './site.entity';

const READ = { label: 'registry snapshot read' };

// TES states after which a task no longer needs its site (libs/tes TERMINAL_STATES); the registry does not
// import the TES library, so the list is spelled here as site-activity.repository.ts does.
const FINISHED = `('COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED')`;

/** Work the broker still has at a site: tasks placed there and not finished, copies to stop there. */
const UNFINISHED_SQL = `
  SELECT site_id, sum(n)::int AS n FROM (
    SELECT site_id, count(*) AS n FROM task
     WHERE site_id = ANY($1::uuid[]) AND state NOT IN ${FINISHED} GROUP BY site_id
    UNION ALL
    SELECT site_id, count(*) AS n FROM abandoned_copy WHERE site_id = ANY($1::uuid[]) GROUP BY site_id
  ) w GROUP BY site_id`;

/** Key of the session-level advisory lock held while a registry apply plans and makes its changes. */
export const APPLY_LOCK_KEY = 7_245_170;

export interface PrincipalRef {
  id: string;
  name: string;
  role: string;
}

/** The reads of a whole-registry export or apply, and the one write only an apply makes: removing a site. */
@Injectable()
export class RegistrySnapshotRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  allSites(): Promise<SiteEntity[]> {
    return withTransientRetry(() => this.db.getRepository(SiteEntity).find(), READ);
  }

  allDataStores(): Promise<DataStoreEntity[]> {
    return withTransientRetry(() => this.db.getRepository(DataStoreEntity).find(), READ);
  }

  async principalsById(ids: string[]): Promise<Map<string, PrincipalRef>> {
    return this.principals('id = ANY($1::uuid[])', ids);
  }

  async principalsByName(names: string[]): Promise<Map<string, PrincipalRef>> {
    const byId = await this.principals('name = ANY($1::text[])', names);
    return new Map([...byId.values()].map((p) => [p.name, p]));
  }

  async unfinished(siteIds: string[]): Promise<Map<string, number>> {
    if (siteIds.length === 0) return new Map();
    const rows: { site_id: string; n: number }[] = await withTransientRetry(
      () => this.db.query(UNFINISHED_SQL, [siteIds]),
      READ,
    );
    return new Map(rows.map((r) => [r.site_id, r.n]));
  }

  /**
   * Deletes the site if the broker has no unfinished work there, checked in the transaction that deletes it
   * with the site's row locked against concurrent edits; returns the unfinished count, 0 when it was removed.
   * Finished tasks keep the site's id in their history.
   */
  async removeIfIdle(siteId: string): Promise<number> {
    return this.db.transaction(async (m) => {
      const locked: unknown[] = await m.query('SELECT id FROM site WHERE id = $1 FOR UPDATE', [siteId]);
      if (locked.length === 0) return 0;
      const rows: { site_id: string; n: number }[] = await m.query(UNFINISHED_SQL, [[siteId]]);
      const busy = rows[0]?.n ?? 0;
      if (busy > 0) return busy;
      // Principals' allowed_site_ids keep the id: removing it could empty a list, and empty means "any site".
      await m.query('DELETE FROM site WHERE id = $1', [siteId]);
      return 0;
    });
  }

  /**
   * Runs `work` holding the registry-apply lock (a PostgreSQL advisory lock on one connection), so that two
   * applies (two CI jobs, two replicas) never interleave their changes; a second one is refused at once.
   */
  async withApplyLock<T>(work: () => Promise<T>): Promise<T> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      const [row]: { locked: boolean }[] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        APPLY_LOCK_KEY,
      ]);
      if (!row.locked) {
        throw new BrokerError(
          ErrorCode.Conflict,
          'another registry apply is in progress; apply again once it has finished',
        );
      }
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [APPLY_LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }

  private async principals(where: string, values: string[]): Promise<Map<string, PrincipalRef>> {
    if (values.length === 0) return new Map();
    const rows: PrincipalRef[] = await withTransientRetry(
      () => this.db.query(`SELECT id, name, role FROM principal WHERE ${where}`, [values]),
      READ,
    );
    return new Map(rows.map((r) => [r.id, r]));
  }
}
