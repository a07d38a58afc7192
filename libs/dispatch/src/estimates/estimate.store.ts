import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Completion, RunTimeEstimator, RunTimeStats, SiteStats } from '@constellation/scheduler';

export interface StatsRow {
  runs: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
  syy: number;
  updated_at: Date;
}

export interface ToolRow extends StatsRow {
  fingerprint: string;
  label: string;
}

export interface ToolSiteRow extends StatsRow {
  fingerprint: string;
  site_id: string;
}

export interface SiteRow {
  site_id: string;
  speed_runs: number;
  log_speed_sum: number;
  core_run_sum: number;
  core_sum: number;
  recent_queue_s: number[];
  recent_run_s: number[];
  updated_at: Date;
}

const seconds = (d: Date) => d.getTime() / 1000;
const date = (s: number) => new Date(s * 1000);

function toStats(r: StatsRow): RunTimeStats {
  return { n: r.runs, sx: r.sx, sy: r.sy, sxx: r.sxx, sxy: r.sxy, syy: r.syy, at: seconds(r.updated_at) };
}

function statsParams(s: RunTimeStats): unknown[] {
  return [s.n, s.sx, s.sy, s.sxx, s.sxy, s.syy, date(s.at)];
}

function toSiteStats(r: SiteRow): SiteStats {
  return {
    speedN: r.speed_runs,
    logSpeedSum: r.log_speed_sum,
    coreRunSum: r.core_run_sum,
    coreSum: r.core_sum,
    recentQueueS: r.recent_queue_s,
    recentRunS: r.recent_run_s,
    at: seconds(r.updated_at),
  };
}

const STATS = 'runs, sx, sy, sxx, sxy, syy, updated_at';
const SITE =
  'site_id, speed_runs, log_speed_sum, core_run_sum, core_sum, recent_queue_s, recent_run_s, updated_at';

/** What the estimator has learned, as GET /api/v1/estimates lists it. */
export interface StoredEstimates {
  tools: ToolRow[];
  toolSites: ToolSiteRow[];
  sites: SiteRow[];
}

/**
 * The estimator's state in PostgreSQL: loaded into a `RunTimeEstimator` for a placement round, and updated
 * one completion at a time under row locks, in the transaction that records the completion.
 */
@Injectable()
export class EstimateStore {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** An estimator holding what placement needs for these fingerprints, and every site's statistics. */
  async estimatorFor(
    fingerprints: readonly string[],
    m: EntityManager = this.db.manager,
  ): Promise<RunTimeEstimator> {
    const keys = [...new Set(fingerprints)];
    // One after another: inside a transaction they share one connection.
    const tools: ToolRow[] =
      keys.length === 0
        ? []
        : await m.query(
            `SELECT fingerprint, label, ${STATS} FROM tool_estimate WHERE fingerprint = ANY($1)`,
            [keys],
          );
    const toolSites: ToolSiteRow[] =
      keys.length === 0
        ? []
        : await m.query(
            `SELECT fingerprint, site_id, ${STATS} FROM tool_site_estimate WHERE fingerprint = ANY($1)`,
            [keys],
          );
    const sites: SiteRow[] = await m.query(`SELECT ${SITE} FROM site_estimate`);
    return this.fill(new RunTimeEstimator(), { tools, toolSites, sites });
  }

  private fill(e: RunTimeEstimator, rows: StoredEstimates): RunTimeEstimator {
    for (const r of rows.tools) e.setTool(r.fingerprint, { label: r.label, stats: toStats(r) });
    for (const r of rows.toolSites) e.setToolSite(r.fingerprint, r.site_id, toStats(r));
    for (const r of rows.sites) e.setSite(r.site_id, toSiteStats(r));
    return e;
  }

  /**
   * Learns from one completion inside the caller's transaction. The rows are locked in one order (tool, tool
   * at site, site), so two replicas recording completions of the same tool wait for each other, never deadlock.
   */
  async learn(m: EntityManager, c: Completion): Promise<void> {
    const rows: StoredEstimates = { tools: [], toolSites: [], sites: [] };
    if (c.tool !== undefined) {
      rows.tools = await m.query(
        `SELECT fingerprint, label, ${STATS} FROM tool_estimate WHERE fingerprint = $1 FOR UPDATE`,
        [c.tool],
      );
      rows.toolSites = await m.query(
        `SELECT fingerprint, site_id, ${STATS} FROM tool_site_estimate
         WHERE fingerprint = $1 AND site_id = $2 FOR UPDATE`,
        [c.tool, c.siteId],
      );
    }
    rows.sites = await m.query(`SELECT ${SITE} FROM site_estimate WHERE site_id = $1 FOR UPDATE`, [c.siteId]);
    const e = this.fill(new RunTimeEstimator(), rows);
    e.observe(c);
    if (c.tool !== undefined) {
      const tool = e.tool(c.tool);
      const toolSite = e.toolSite(c.tool, c.siteId);
      if (tool !== undefined) {
        // A first run of a tool races with another replica's first run: the later insert merges as an update.
        await m.query(
          `INSERT INTO tool_estimate (fingerprint, label, ${STATS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (fingerprint) DO UPDATE SET label = EXCLUDED.label, runs = EXCLUDED.runs,
             sx = EXCLUDED.sx, sy = EXCLUDED.sy, sxx = EXCLUDED.sxx, sxy = EXCLUDED.sxy, syy = EXCLUDED.syy,
             updated_at = EXCLUDED.updated_at`,
          [c.tool, tool.label, ...statsParams(tool.stats)],
        );
      }
      if (toolSite !== undefined) {
        await m.query(
          `INSERT INTO tool_site_estimate (fingerprint, site_id, ${STATS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (fingerprint, site_id) DO UPDATE SET runs = EXCLUDED.runs,
             sx = EXCLUDED.sx, sy = EXCLUDED.sy, sxx = EXCLUDED.sxx, sxy = EXCLUDED.sxy, syy = EXCLUDED.syy,
             updated_at = EXCLUDED.updated_at`,
          [c.tool, c.siteId, ...statsParams(toolSite)],
        );
      }
    }
    const site = e.site(c.siteId);
    if (site !== undefined) {
      await m.query(
        `INSERT INTO site_estimate (${SITE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (site_id) DO UPDATE SET speed_runs = EXCLUDED.speed_runs,
           log_speed_sum = EXCLUDED.log_speed_sum, core_run_sum = EXCLUDED.core_run_sum,
           core_sum = EXCLUDED.core_sum, recent_queue_s = EXCLUDED.recent_queue_s,
           recent_run_s = EXCLUDED.recent_run_s, updated_at = EXCLUDED.updated_at`,
        [
          c.siteId,
          site.speedN,
          site.logSpeedSum,
          site.coreRunSum,
          site.coreSum,
          site.recentQueueS,
          site.recentRunS,
          date(site.at),
        ],
      );
    }
  }

  /** The `limit` most-run tools with their per-site rows, and every site's row, for the admin listing. */
  async rows(limit: number): Promise<StoredEstimates> {
    const [tools, sites]: [ToolRow[], SiteRow[]] = await Promise.all([
      this.db.query(
        `SELECT fingerprint, label, ${STATS} FROM tool_estimate ORDER BY runs DESC, fingerprint LIMIT $1`,
        [limit],
      ),
      this.db.query(`SELECT ${SITE} FROM site_estimate ORDER BY site_id`),
    ]);
    const toolSites: ToolSiteRow[] =
      tools.length === 0
        ? []
        : await this.db.query(
            `SELECT fingerprint, site_id, ${STATS} FROM tool_site_estimate WHERE fingerprint = ANY($1)`,
            [tools.map((t) => t.fingerprint)],
          );
    return { tools, toolSites, sites };
  }

  estimatorOf(rows: StoredEstimates): RunTimeEstimator {
    return this.fill(new RunTimeEstimator(), rows);
  }

  statsOf(row: StatsRow): RunTimeStats {
    return toStats(row);
  }
}
