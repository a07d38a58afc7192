import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '@constellation/common';
import { SiteCatalog } from '@constellation/registry';
import { decayed, DEFAULT_ESTIMATOR_PARAMS, describeRunTime } from '@constellation/scheduler';
import { EstimateStore } from './estimate.store';
import { EstimatesView } from './estimates.views';

export const DEFAULT_ESTIMATES_LIMIT = 100;
export const MAX_ESTIMATES_LIMIT = 1000;

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** `limit` from the query string; anything else in it is a 400 naming the field. */
export function estimatesLimit(query: Record<string, unknown>): number {
  const errors = Object.keys(query)
    .filter((k) => k !== 'limit')
    .map((k) => ({ path: k, reason: 'is not a parameter of this operation (only limit)' }));
  let limit = DEFAULT_ESTIMATES_LIMIT;
  if (query.limit !== undefined) {
    const raw = query.limit;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_ESTIMATES_LIMIT) {
      errors.push({ path: 'limit', reason: `must be an integer from 1 to ${MAX_ESTIMATES_LIMIT}` });
    } else limit = n;
  }
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return limit;
}

/** GET /api/v1/estimates: what placement has learned, as of now. */
@Injectable()
export class EstimatesService {
  constructor(
    private readonly catalog: SiteCatalog,
    private readonly store: EstimateStore,
  ) {}

  async list(limit: number, at: Date = new Date()): Promise<EstimatesView> {
    const now = at.getTime() / 1000;
    const p = DEFAULT_ESTIMATOR_PARAMS;
    const [rows, siteRows] = await Promise.all([this.store.rows(limit), this.catalog.summaries()]);
    const sites = new Map(siteRows.map((s) => [s.id, s]));
    const estimator = this.store.estimatorOf(rows);
    return {
      computed_at: at.toISOString(),
      half_life_s: p.halfLifeS,
      tools: rows.tools.map((t) => {
        const stats = this.store.statsOf(t);
        const d = describeRunTime(stats, p);
        return {
          fingerprint: t.fingerprint,
          label: t.label,
          runs: round(decayed(stats, now, p.halfLifeS).n, 2),
          typical_run_s: round(d.typicalRunS, 1),
          size_exponent: round(d.sizeExponent),
          last_run_at: t.updated_at.toISOString(),
          sites: rows.toolSites
            .filter((ts) => ts.fingerprint === t.fingerprint)
            .map((ts) => {
              const s = this.store.statsOf(ts);
              return {
                site_id: ts.site_id,
                site: sites.get(ts.site_id)?.slug ?? ts.site_id,
                runs: round(decayed(s, now, p.halfLifeS).n, 2),
                typical_run_s: round(describeRunTime(s, p).typicalRunS, 1),
              };
            })
            .sort((a, b) => b.runs - a.runs),
        };
      }),
      sites: rows.sites.map((r) => {
        const site = sites.get(r.site_id);
        const slots = site?.totalCores ?? Math.max(1, site?.maxConcurrentTasks ?? 1);
        const perf = estimator.sitePerformance(r.site_id, slots, now);
        return {
          site_id: r.site_id,
          site: site?.slug ?? r.site_id,
          speed_factor: round(perf.speedFactor),
          speed_runs: round(perf.speedRuns, 2),
          ...(perf.throughputPerS !== undefined ? { throughput_per_s: round(perf.throughputPerS, 5) } : {}),
          ...(perf.medianQueueS !== undefined ? { median_queue_s: round(perf.medianQueueS, 1) } : {}),
          ...(perf.medianRunS !== undefined ? { median_run_s: round(perf.medianRunS, 1) } : {}),
          last_run_at: r.updated_at.toISOString(),
        };
      }),
    };
  }
}
