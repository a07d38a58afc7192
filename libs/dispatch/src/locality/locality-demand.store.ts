import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { DemandBucket } from '@constellation/scheduler';
import type { DemandEntry } from '@constellation/scheduler';

/** One site's recent local demand: core-seconds per density bucket, and when the oldest of it was placed. */
export interface SiteDemand {
  buckets: DemandBucket[];
  /** Tasks counted in the window. */
  tasks: number;
  first: Date;
}

/**
 * The recent demand on sites local to a data store (`locality_demand`, one row per site, minute and density
 * bucket). Written and pruned by the placement round inside its transaction, under the placement lock, so the
 * rows are the placements that were written; read by every replica, which all compute the same prices.
 */
@Injectable()
export class LocalityDemandStore {
  /** Per site, the demand placed since `since`. */
  async window(m: EntityManager, since: Date): Promise<Map<string, SiteDemand>> {
    const rows: { site_id: string; density_bucket: number; core_s: number; tasks: number; first: Date }[] =
      await m.query(
        `SELECT site_id, density_bucket, sum(core_s) AS core_s, sum(tasks)::int AS tasks, min(minute) AS first
         FROM locality_demand WHERE minute >= date_trunc('minute', $1::timestamptz)
         GROUP BY site_id, density_bucket`,
        [since],
      );
    const bySite = new Map<string, SiteDemand>();
    for (const r of rows) {
      let d = bySite.get(r.site_id);
      if (d === undefined) {
        d = { buckets: [], tasks: 0, first: r.first };
        bySite.set(r.site_id, d);
      }
      d.buckets.push({ bucket: Number(r.density_bucket), coreS: Number(r.core_s) });
      d.tasks += r.tasks;
      if (r.first < d.first) d.first = r.first;
    }
    return bySite;
  }

  /**
   * Adds the demand of tasks placed at `at` to that minute's rows. The table has no key to `site`: a site
   * deleted while the round ran cannot fail its placements, and its rows leave with the window.
   */
  async record(m: EntityManager, at: Date, entries: readonly DemandEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const sums = new Map<
      string,
      { siteId: string; bucket: number; coreS: number; bytes: number; tasks: number }
    >();
    for (const e of entries) {
      const key = `${e.siteId}/${e.bucket}`;
      const s = sums.get(key);
      if (s === undefined) sums.set(key, { ...e, tasks: 1 });
      else {
        s.coreS += e.coreS;
        s.bytes += e.bytes;
        s.tasks++;
      }
    }
    const rows = [...sums.values()];
    await m.query(
      `INSERT INTO locality_demand (site_id, minute, density_bucket, core_s, bytes, tasks)
       SELECT d.site_id, date_trunc('minute', $6::timestamptz), d.bucket, d.core_s, d.bytes, d.tasks
       FROM unnest($1::uuid[], $2::smallint[], $3::double precision[], $4::double precision[], $5::int[])
         AS d(site_id, bucket, core_s, bytes, tasks)
       ON CONFLICT (site_id, minute, density_bucket) DO UPDATE SET
         core_s = locality_demand.core_s + EXCLUDED.core_s,
         bytes = locality_demand.bytes + EXCLUDED.bytes,
         tasks = locality_demand.tasks + EXCLUDED.tasks`,
      [
        rows.map((r) => r.siteId),
        rows.map((r) => r.bucket),
        rows.map((r) => r.coreS),
        rows.map((r) => r.bytes),
        rows.map((r) => r.tasks),
        at,
      ],
    );
  }

  /** Forgets the demand placed before `before`. */
  async prune(m: EntityManager, before: Date): Promise<void> {
    await m.query(`DELETE FROM locality_demand WHERE minute < date_trunc('minute', $1::timestamptz)`, [
      before,
    ]);
  }
}
