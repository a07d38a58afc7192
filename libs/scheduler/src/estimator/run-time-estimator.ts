import {
  addRun,
  decayed,
  predictRunTime,
  RunTimeParams,
  RunTimePrediction,
  RunTimeStats,
} from './run-time-stats';
import { addSiteRun, median, SiteParams, SiteStats, speedFactor, throughputPerS } from './site-stats';

/**
 * The one estimator of run times and site performance, used by the broker (its state loaded from and
 * written back to PostgreSQL) and by the simulator (in memory): both learn only from finished attempts.
 */
export interface EstimatorParams extends RunTimeParams, SiteParams {
  /** Runs of a tool at one site before that site's own statistics replace tool estimate / site speed. */
  siteToolMinRuns: number;
}

export const DEFAULT_ESTIMATOR_PARAMS: Readonly<EstimatorParams> = Object.freeze({
  minRuns: 3,
  slopeMinRuns: 20,
  halfLifeS: 14 * 86400,
  outlierSigmas: 3,
  minSigma: 0.5,
  speedPriorRuns: 20,
  recentWindow: 101,
  siteToolMinRuns: 5,
});

/** A finished attempt as the estimator learns from it. */
export interface Completion {
  /** Fingerprint key; absent when nothing in the task names a tool (then only the site learns). */
  tool?: string;
  toolLabel?: string;
  siteId: string;
  /** Input bytes as placement estimated them (the same sizes the estimate will be asked for). */
  inputBytes: number;
  cores: number;
  runS: number;
  queueS?: number;
  /** When it finished, seconds since the epoch. */
  at: number;
}

export interface ToolRecord {
  label: string;
  stats: RunTimeStats;
}

export interface RunEstimate extends RunTimePrediction {
  /** `tool` for the fingerprint over every site, `site` for its runs at this one site. */
  scope: 'tool' | 'site';
  label: string;
}

export interface SitePerformanceEstimate {
  speedFactor: number;
  /** Decayed count of runs the speed rests on. */
  speedRuns: number;
  throughputPerS?: number;
  medianQueueS?: number;
  medianRunS?: number;
}

const toolSiteKey = (tool: string, siteId: string) => `${tool}\u0000${siteId}`;

export class RunTimeEstimator {
  private readonly tools = new Map<string, ToolRecord>();
  private readonly toolSites = new Map<string, RunTimeStats>();
  private readonly sites = new Map<string, SiteStats>();

  constructor(readonly params: EstimatorParams = DEFAULT_ESTIMATOR_PARAMS) {}

  /** The tool's run time on reference hardware (speed 1), from its runs on every site. */
  toolEstimate(tool: string | undefined, inputBytes: number, now: number): RunEstimate | undefined {
    if (tool === undefined) return undefined;
    const record = this.tools.get(tool);
    if (record === undefined) return undefined;
    const p = predictRunTime(decayed(record.stats, now, this.params.halfLifeS), inputBytes, this.params);
    return p && { ...p, scope: 'tool', label: record.label };
  }

  /** The tool's run time at one site from its runs there, once there are enough of them. */
  siteEstimate(
    tool: string | undefined,
    siteId: string,
    inputBytes: number,
    now: number,
  ): RunEstimate | undefined {
    if (tool === undefined) return undefined;
    const stats = this.toolSites.get(toolSiteKey(tool, siteId));
    if (stats === undefined) return undefined;
    const params = { ...this.params, minRuns: Math.max(this.params.minRuns, this.params.siteToolMinRuns) };
    const p = predictRunTime(decayed(stats, now, this.params.halfLifeS), inputBytes, params);
    return p && { ...p, scope: 'site', label: this.tools.get(tool)?.label ?? tool };
  }

  sitePerformance(siteId: string, slots: number, now: number): SitePerformanceEstimate {
    const s = this.sites.get(siteId);
    const f = s === undefined ? 1 : Math.pow(0.5, Math.max(0, now - s.at) / this.params.halfLifeS);
    const result: SitePerformanceEstimate = {
      speedFactor: speedFactor(s, this.params),
      speedRuns: (s?.speedN ?? 0) * f,
    };
    const throughput = throughputPerS(s, slots);
    if (throughput !== undefined) result.throughputPerS = throughput;
    const q = median(s?.recentQueueS ?? []);
    if (q !== undefined) result.medianQueueS = q;
    const r = median(s?.recentRunS ?? []);
    if (r !== undefined) result.medianRunS = r;
    return result;
  }

  /**
   * Learns from one finished attempt. The site's speed compares the run with what the tool model expected
   * before this run; the tool model takes raw run times, not speed-corrected ones: correcting with the
   * estimate being learned feeds back on itself.
   */
  observe(c: Completion): void {
    const expected = this.toolEstimate(c.tool, c.inputBytes, c.at);
    this.sites.set(
      c.siteId,
      addSiteRun(
        this.sites.get(c.siteId),
        {
          logSpeedRatio: expected && c.runS > 0 ? Math.log(expected.medianS / c.runS) : undefined,
          cores: c.cores,
          runS: c.runS,
          queueS: c.queueS,
          at: c.at,
        },
        this.params,
      ),
    );
    if (c.tool === undefined) return;
    const prior = this.tools.get(c.tool);
    this.tools.set(c.tool, {
      label: c.toolLabel ?? prior?.label ?? c.tool,
      stats: addRun(prior?.stats, c.inputBytes, c.runS, c.at, this.params),
    });
    const key = toolSiteKey(c.tool, c.siteId);
    this.toolSites.set(key, addRun(this.toolSites.get(key), c.inputBytes, c.runS, c.at, this.params));
  }

  // State access for a store that persists it (the broker's PostgreSQL tables).

  tool(key: string): ToolRecord | undefined {
    return this.tools.get(key);
  }
  setTool(key: string, record: ToolRecord): void {
    this.tools.set(key, record);
  }
  toolSite(tool: string, siteId: string): RunTimeStats | undefined {
    return this.toolSites.get(toolSiteKey(tool, siteId));
  }
  setToolSite(tool: string, siteId: string, stats: RunTimeStats): void {
    this.toolSites.set(toolSiteKey(tool, siteId), stats);
  }
  site(siteId: string): SiteStats | undefined {
    return this.sites.get(siteId);
  }
  setSite(siteId: string, stats: SiteStats): void {
    this.sites.set(siteId, stats);
  }
}
