/**
 * What the broker learns about a site from the attempts that finished there: its speed against the tool
 * models, how much work it gets through, and how long tasks wait in its queue.
 */
export interface SiteStats {
  /** Decayed count of runs with a tool estimate to compare against. */
  speedN: number;
  /** Decayed sum of ln(expected run time / observed run time). */
  logSpeedSum: number;
  /** Decayed sum of cores x run time, and of cores: their ratio is the core-weighted mean run time. */
  coreRunSum: number;
  coreSum: number;
  /** The last few observed queue times (submitted to running) and run times, oldest first. */
  recentQueueS: number[];
  recentRunS: number[];
  /** When the weights were last decayed (seconds since the epoch). */
  at: number;
}

export interface SiteParams {
  halfLifeS: number;
  /** Pseudo-runs at speed 1 the speed starts from: one ratio has a ln-sigma near 1.5. */
  speedPriorRuns: number;
  /** Queue and run times kept for the medians. */
  recentWindow: number;
}

export interface SiteRun {
  /** ln(expected / observed run time), when the tool had an estimate. */
  logSpeedRatio?: number;
  cores: number;
  runS: number;
  /** Submitted to running, when the broker saw the attempt start. */
  queueS?: number;
  at: number;
}

export function emptySiteStats(at: number): SiteStats {
  return { speedN: 0, logSpeedSum: 0, coreRunSum: 0, coreSum: 0, recentQueueS: [], recentRunS: [], at };
}

function decayedSite(s: SiteStats, now: number, halfLifeS: number): SiteStats {
  const dt = now - s.at;
  if (dt <= 0 || !Number.isFinite(halfLifeS)) return s;
  const f = Math.pow(0.5, dt / halfLifeS);
  return {
    ...s,
    speedN: s.speedN * f,
    logSpeedSum: s.logSpeedSum * f,
    coreRunSum: s.coreRunSum * f,
    coreSum: s.coreSum * f,
    at: now,
  };
}

function keepLast(xs: readonly number[], x: number, n: number): number[] {
  const next = [...xs, x];
  return next.length > n ? next.slice(next.length - n) : next;
}

export function addSiteRun(prior: SiteStats | undefined, run: SiteRun, p: SiteParams): SiteStats {
  const s = prior === undefined ? emptySiteStats(run.at) : decayedSite(prior, run.at, p.halfLifeS);
  const next: SiteStats = {
    ...s,
    coreRunSum: s.coreRunSum + run.cores * run.runS,
    coreSum: s.coreSum + run.cores,
    recentRunS: keepLast(s.recentRunS, run.runS, p.recentWindow),
    at: Math.max(s.at, run.at),
  };
  if (run.logSpeedRatio !== undefined && Number.isFinite(run.logSpeedRatio)) {
    next.speedN = s.speedN + 1;
    next.logSpeedSum = s.logSpeedSum + run.logSpeedRatio;
  }
  if (run.queueS !== undefined && run.queueS >= 0) {
    next.recentQueueS = keepLast(s.recentQueueS, run.queueS, p.recentWindow);
  }
  return next;
}

/** The site's speed factor: the mean ln-ratio shrunk towards 0 (speed 1) by the prior's pseudo-runs. */
export function speedFactor(s: SiteStats | undefined, p: Pick<SiteParams, 'speedPriorRuns'>): number {
  if (s === undefined) return 1;
  return Math.exp(s.logSpeedSum / (s.speedN + p.speedPriorRuns));
}

/** Cores' worth of work the site finishes per second when its `slots` are busy; undefined without runs. */
export function throughputPerS(s: SiteStats | undefined, slots: number): number | undefined {
  if (s === undefined || s.coreSum <= 0 || s.coreRunSum <= 0) return undefined;
  return slots / (s.coreRunSum / s.coreSum);
}

export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
