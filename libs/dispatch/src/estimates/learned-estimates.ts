import {
  Candidate,
  DEFAULT_COST_MODEL,
  Fingerprint,
  releaseFloor,
  ResolvedResources,
  resolveResources,
  RunEstimate,
  RunTimeEstimator,
  SitePerformanceEstimate,
  SiteSnapshot,
  TaskRequirement,
  TermSources,
} from '@constellation/scheduler';
import { describeSizes } from '../sizing/input-sizes';

/** A site's slots for throughput: its total cores when published, else its admission limit. */
function slots(site: SiteSnapshot): number {
  return site.capacity.totals?.cores ?? Math.max(1, site.capacity.maxConcurrentTasks);
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));
const runs = (n: number) => `${Math.round(n)} run${Math.round(n) === 1 ? '' : 's'}`;

/** A tool's run estimates at each site for one input size, and their medians as a task carries them. */
interface SiteRunTimes {
  estimates: ReadonlyMap<string, RunEstimate>;
  medianS?: Readonly<Record<string, number>>;
}

/**
 * What the estimator has learned, applied to one placement round at time `now`: each site's performance in
 * its snapshot, each task's expected run time, and for the explanation where every term's number came from.
 */
export class LearnedEstimates {
  private readonly performance = new Map<string, SitePerformanceEstimate>();
  private readonly sites = new Map<string, SiteSnapshot>();
  /**
   * Each site's run estimate per tool and input size, worked out once a round for the sites applyToTask was
   * given: a burst's tasks mostly share both, and each estimate decays and refits the tool's statistics.
   */
  private readonly atSites = new Map<string, SiteRunTimes>();
  private atSitesFor?: readonly SiteSnapshot[];
  private atSiteIds = new Set<string>();

  constructor(
    readonly estimator: RunTimeEstimator,
    private readonly now: number,
  ) {}

  /** Puts the learned speed, throughput and medians into the snapshots (replacing what they had). */
  applyToSites(sites: readonly SiteSnapshot[]): void {
    for (const site of sites) {
      const p = this.estimator.sitePerformance(site.id, slots(site), this.now);
      this.performance.set(site.id, p);
      this.sites.set(site.id, site);
      site.performance = {
        ...site.performance,
        speedFactor: p.speedFactor,
        throughputPerS: p.throughputPerS,
        medianQueueS: p.medianQueueS,
        medianRunS: p.medianRunS,
      };
    }
  }

  /** Sets the task's expected run time (over every site, and per site where the tool ran enough there). */
  applyToTask(
    task: TaskRequirement,
    fingerprint: Fingerprint | undefined,
    sites: readonly SiteSnapshot[],
  ): void {
    const bytes = inputBytes(task);
    const tool = this.estimator.toolEstimate(fingerprint?.key, bytes, this.now);
    task.expectedRunS = tool?.medianS;
    task.expectedRunSBySite =
      fingerprint === undefined ? undefined : this.siteRunTimes(fingerprint.key, bytes, sites).medianS;
  }

  /** A tool's estimates at `sites` for an input size: worked out on the first ask of a round, then kept. */
  private siteRunTimes(tool: string, bytes: number, sites: readonly SiteSnapshot[]): SiteRunTimes {
    if (this.atSitesFor !== sites) {
      this.atSites.clear();
      this.atSitesFor = sites;
      this.atSiteIds = new Set(sites.map((site) => site.id));
    }
    const key = `${tool}\u0000${bytes}`;
    let kept = this.atSites.get(key);
    if (kept === undefined) {
      const estimates = new Map<string, RunEstimate>();
      for (const site of sites) {
        const e = this.estimator.siteEstimate(tool, site.id, bytes, this.now);
        if (e !== undefined) estimates.set(site.id, e);
      }
      // Shared by the tasks of one tool and size: read-only for them (TaskRequirement says so).
      const medianS =
        estimates.size === 0
          ? undefined
          : Object.fromEntries([...estimates].map(([id, e]) => [id, e.medianS]));
      kept = { estimates, medianS };
      this.atSites.set(key, kept);
    }
    return kept;
  }

  /**
   * Where each candidate's terms came from, in words an admin or a submitter can check. Called right after
   * the task's placement, before the round counts it in the snapshots, so the sites are as placement saw them.
   */
  explain(
    candidates: Candidate[],
    task: TaskRequirement,
    fingerprint: Fingerprint | undefined,
    defaultRunS = DEFAULT_COST_MODEL.defaultRunS,
  ): void {
    const bytes = inputBytes(task);
    const tool = this.estimator.toolEstimate(fingerprint?.key, bytes, this.now);
    const res = resolveResources(task);
    for (const c of candidates) {
      if (!c.feasible) continue;
      const perf = this.performance.get(c.siteId) ?? { speedFactor: 1, speedRuns: 0 };
      const sources: TermSources = {
        runS: this.runSource(c.siteId, fingerprint, bytes, tool?.runs, perf, defaultRunS),
        queueWaitS: this.queueWaitSource(c, task, res, perf, defaultRunS),
        transferS: transferSource(task, c),
      };
      c.sources = sources;
    }
  }

  private queueWaitSource(
    c: Candidate,
    task: TaskRequirement,
    res: ResolvedResources,
    perf: SitePerformanceEstimate,
    defaultRunS: number,
  ): string {
    if (c.queueWaitS === 0) return 'no wait: the site has room for the task';
    const learned = perf.throughputPerS !== undefined;
    const site = this.sites.get(c.siteId);
    const floor = site && releaseFloor(site, task, res, c.runS, this.now);
    // The wait is the larger of the drain at the throughput and this floor: say which one set it.
    if (floor !== undefined && Math.abs(floor.seconds - c.queueWaitS) <= 1e-6 * Math.max(1, c.queueWaitS)) {
      const drain = learned
        ? `the learned throughput of ${round(perf.throughputPerS as number, 3)} core(s)/s`
        : 'the default throughput (no history at this site)';
      return (
        `floored on the expected ends of ${floor.tasks} of the ${floor.running} task(s) running here ` +
        `(the room it needs frees as they end; ${drain} alone gives less)`
      );
    }
    return learned
      ? `site throughput ${round(perf.throughputPerS as number, 3)} core(s)/s learned from its completions`
      : `default: no history at this site (its slots over ${defaultRunS} s)`;
  }

  private runSource(
    siteId: string,
    fingerprint: Fingerprint | undefined,
    bytes: number,
    toolRuns: number | undefined,
    perf: SitePerformanceEstimate,
    defaultRunS: number,
  ): string {
    if (fingerprint === undefined)
      return `default ${defaultRunS} s: the task names no tool (no executor image)`;
    const atSite =
      this.atSitesFor && this.atSiteIds.has(siteId)
        ? this.siteRunTimes(fingerprint.key, bytes, this.atSitesFor).estimates.get(siteId)
        : this.estimator.siteEstimate(fingerprint.key, siteId, bytes, this.now);
    if (atSite !== undefined) return `learned from ${runs(atSite.runs)} of ${fingerprint.label} at this site`;
    const speed =
      perf.speedRuns >= 0.5
        ? `site speed ${round(perf.speedFactor, 2)} learned from ${runs(perf.speedRuns)}`
        : 'site speed 1: no history';
    if (toolRuns === undefined)
      return `default ${defaultRunS} s: no history of ${fingerprint.label}; ${speed}`;
    return `learned from ${runs(toolRuns)} of ${fingerprint.label}; ${speed}`;
  }
}

export function inputBytes(task: TaskRequirement): number {
  return task.inputs.reduce((sum, i) => sum + (i.url !== undefined ? i.sizeBytes : 0), 0);
}

function transferSource(task: TaskRequirement, c: Candidate): string {
  const withUrl = task.inputs.filter((i) => i.url !== undefined);
  if (withUrl.length === 0) return 'no inputs to fetch';
  const staged = withUrl.some((i) => i.stagedByTask)
    ? " (fetched by the task's own staging: Galaxy job files, or the submitter's home data store)"
    : '';
  if (c.wanBytes === 0) return `${withUrl.length} input(s)${staged}, all local to the site`;
  return `${withUrl.length} input(s)${staged}, ${describeSizes(withUrl)}`;
}
