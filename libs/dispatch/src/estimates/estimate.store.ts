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

/** The statistics of `rows` as one array per column, in the order of STATS, for unnest. */
function statsColumns(rows: readonly { stats: RunTimeStats }[]): unknown[][] {
  const of = (f: (s: RunTimeStats) => unknown) => rows.map((r) => f(r.stats));
  return [
    of((s) => s.n),
    of((s) => s.sx),
    of((s) => s.sy),
    of((s) => s.sxx),
    of((s) => s.sxy),
    of((s) => s.syy),
    of((s) => date(s.at)),
  ];
}

/** STATS's parameters as unnest arguments, numbered from `first`. */
const STATS_ARRAYS = (first: number) =>
  [...Array(6).keys()].map((i) => `$${first + i}::double precision[]`).join(', ') +
  `, $${first + 6}::timestamptz[]`;

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
 * under row locks in the transaction that records the completions.
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
   * Learns from completions inside the caller's transaction, in their order, with one locking read and at most
   * one write whatever their number (a tracking walk records a batch at once). The rows are locked table by
   * table (tool, tool at site, site) and in key order within each, so two replicas recording completions of
   * the same tools wait for each other, never deadlock.
   */
  async learn(m: EntityManager, completions: readonly Completion[]): Promise<void> {
    if (completions.length === 0) return;
    const withTool = completions.filter((c): c is Completion & { tool: string } => c.tool !== undefined);
    const tools = [...new Set(withTool.map((c) => c.tool))].sort();
    const pairs = [...new Map(withTool.map((c) => [`${c.tool} ${c.siteId}`, c])).values()].sort(
      (a, b) => compare(a.tool, b.tool) || compare(a.siteId, b.siteId),
    );
    const sites = [...new Set(completions.map((c) => c.siteId))].sort();
    const rows = await this.lockRows(m, tools, pairs, sites);
    const e = this.fill(new RunTimeEstimator(), rows);
    for (const c of completions) e.observe(c);
    const toolRows = tools.flatMap((t) => {
      const tool = e.tool(t);
      return tool === undefined ? [] : [{ key: t, label: tool.label, stats: tool.stats }];
    });
    const toolSiteRows = pairs.flatMap((c) => {
      const stats = e.toolSite(c.tool, c.siteId);
      return stats === undefined ? [] : [{ key: c.tool, siteId: c.siteId, stats }];
    });
    const siteRows = sites.flatMap((id) => {
      const site = e.site(id);
      return site === undefined ? [] : [{ id, site }];
    });
    await this.writeRows(m, toolRows, toolSiteRows, siteRows);
  }

  /**
   * The rows a learning step changes, locked table by table (tool, tool at site, site) and in key order within
   * each, in one statement: each table's rows come back as one JSON list.
   */
  private async lockRows(
    m: EntityManager,
    tools: readonly string[],
    pairs: readonly { tool: string; siteId: string }[],
    sites: readonly string[],
  ): Promise<StoredEstimates> {
    const [row]: { tools: ToolRow[]; tool_sites: ToolSiteRow[]; sites: SiteRow[] }[] = await m.query(
      `WITH tools AS (
         SELECT fingerprint, label, ${STATS} FROM tool_estimate WHERE fingerprint = ANY($1::text[])
         ORDER BY fingerprint FOR UPDATE),
       tool_sites AS (
         SELECT fingerprint, site_id, ${STATS} FROM tool_site_estimate
         WHERE (fingerprint, site_id) IN (SELECT * FROM unnest($2::text[], $3::uuid[]))
         ORDER BY fingerprint, site_id FOR UPDATE),
       sites AS (
         SELECT ${SITE} FROM site_estimate WHERE site_id = ANY($4::uuid[]) ORDER BY site_id FOR UPDATE)
       SELECT (SELECT COALESCE(json_agg(tools), '[]') FROM tools) AS tools,
              (SELECT COALESCE(json_agg(tool_sites), '[]') FROM tool_sites) AS tool_sites,
              (SELECT COALESCE(json_agg(sites), '[]') FROM sites) AS sites`,
      [tools, pairs.map((c) => c.tool), pairs.map((c) => c.siteId), sites],
    );
    // JSON brings times as text; numbers (double precision, written shortest-exact) come back as they were.
    const at = <R extends { updated_at: Date }>(r: R): R => ({ ...r, updated_at: new Date(r.updated_at) });
    return { tools: row.tools.map(at), toolSites: row.tool_sites.map(at), sites: row.sites.map(at) };
  }

  /** Writes the learned rows of the three tables in one statement (a data-modifying CTE per table). */
  private async writeRows(
    m: EntityManager,
    toolRows: readonly { key: string; label: string; stats: RunTimeStats }[],
    toolSiteRows: readonly { key: string; siteId: string; stats: RunTimeStats }[],
    siteRows: readonly { id: string; site: SiteStats }[],
  ): Promise<void> {
    if (toolRows.length + toolSiteRows.length + siteRows.length === 0) return;
    // A first run of a tool races with another replica's first run: the later insert merges as an update.
    // The recent-time lists differ in length from site to site, which a two-dimensional array cannot hold:
    // each travels as JSON.
    await m.query(
      `WITH tools AS (
         INSERT INTO tool_estimate (fingerprint, label, ${STATS})
         SELECT * FROM unnest($1::text[], $2::text[], ${STATS_ARRAYS(3)})
         ON CONFLICT (fingerprint) DO UPDATE SET label = EXCLUDED.label, runs = EXCLUDED.runs,
           sx = EXCLUDED.sx, sy = EXCLUDED.sy, sxx = EXCLUDED.sxx, sxy = EXCLUDED.sxy, syy = EXCLUDED.syy,
           updated_at = EXCLUDED.updated_at),
       tool_sites AS (
         INSERT INTO tool_site_estimate (fingerprint, site_id, ${STATS})
         SELECT * FROM unnest($10::text[], $11::uuid[], ${STATS_ARRAYS(12)})
         ON CONFLICT (fingerprint, site_id) DO UPDATE SET runs = EXCLUDED.runs,
           sx = EXCLUDED.sx, sy = EXCLUDED.sy, sxx = EXCLUDED.sxx, sxy = EXCLUDED.sxy, syy = EXCLUDED.syy,
           updated_at = EXCLUDED.updated_at)
       INSERT INTO site_estimate (${SITE})
       SELECT s.site_id, s.speed_runs, s.log_speed_sum, s.core_run_sum, s.core_sum,
              ARRAY(SELECT jsonb_array_elements_text(s.recent_queue_s)::double precision),
              ARRAY(SELECT jsonb_array_elements_text(s.recent_run_s)::double precision), s.updated_at
       FROM unnest($19::uuid[], $20::double precision[], $21::double precision[], $22::double precision[],
                   $23::double precision[], $24::jsonb[], $25::jsonb[], $26::timestamptz[])
         AS s(site_id, speed_runs, log_speed_sum, core_run_sum, core_sum, recent_queue_s, recent_run_s,
              updated_at)
       ON CONFLICT (site_id) DO UPDATE SET speed_runs = EXCLUDED.speed_runs,
         log_speed_sum = EXCLUDED.log_speed_sum, core_run_sum = EXCLUDED.core_run_sum,
         core_sum = EXCLUDED.core_sum, recent_queue_s = EXCLUDED.recent_queue_s,
         recent_run_s = EXCLUDED.recent_run_s, updated_at = EXCLUDED.updated_at`,
      [
        toolRows.map((r) => r.key),
        toolRows.map((r) => r.label),
        ...statsColumns(toolRows),
        toolSiteRows.map((r) => r.key),
        toolSiteRows.map((r) => r.siteId),
        ...statsColumns(toolSiteRows),
        siteRows.map((r) => r.id),
        siteRows.map((r) => r.site.speedN),
        siteRows.map((r) => r.site.logSpeedSum),
        siteRows.map((r) => r.site.coreRunSum),
        siteRows.map((r) => r.site.coreSum),
        siteRows.map((r) => JSON.stringify(r.site.recentQueueS)),
        siteRows.map((r) => JSON.stringify(r.site.recentRunS)),
        siteRows.map((r) => date(r.site.at)),
      ],
    );
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
