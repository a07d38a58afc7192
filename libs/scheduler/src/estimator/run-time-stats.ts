/**
 * Decayed sufficient statistics of a regression of ln(run time) on ln(input GB): what the broker keeps per
 * tool fingerprint, and per fingerprint and site. Weights halve every `halfLifeS`, so a tool whose run time
 * changed (new version behind the same image tag, new reference data) is relearned.
 */
export interface RunTimeStats {
  /** Decayed count of runs. */
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
  syy: number;
  /** When the weights were last decayed (seconds since the epoch). */
  at: number;
}

export interface RunTimePrediction {
  /** Median run time at the input size: what placement compares. */
  medianS: number;
  /** Mean run time (median x exp(residual variance / 2)): what capacity sums need. */
  meanS: number;
  /** Decayed count of the runs it rests on. */
  runs: number;
}

export interface RunTimeParams {
  /** Runs below which a fingerprint has no estimate. */
  minRuns: number;
  /** Runs before the slope on input size is trusted (and only when inputs vary: ln-variance > 0.5). */
  slopeMinRuns: number;
  /** Half-life of old runs, seconds. */
  halfLifeS: number;
  /**
   * A run further than this many residual standard deviations (in ln) from the estimate counts as if it were
   * at that distance: one stuck or crashed-early run does not move the median much.
   */
  outlierSigmas: number;
  /** Floor of the residual standard deviation the clip uses, in ln units (a factor of e). */
  minSigma: number;
}

/** Share of a run that decay may take off a count before it stops meeting a threshold. */
const COUNT_TOLERANCE = 0.5;

export function emptyRunTimeStats(at: number): RunTimeStats {
  return { n: 0, sx: 0, sy: 0, sxx: 0, sxy: 0, syy: 0, at };
}

/** The statistics as of `now`: every weight scaled by 2^(-elapsed / half-life). */
export function decayed(s: RunTimeStats, now: number, halfLifeS: number): RunTimeStats {
  const dt = now - s.at;
  if (dt <= 0 || !Number.isFinite(halfLifeS)) return s;
  const f = Math.pow(0.5, dt / halfLifeS);
  return { n: s.n * f, sx: s.sx * f, sy: s.sy * f, sxx: s.sxx * f, sxy: s.sxy * f, syy: s.syy * f, at: now };
}

interface Fit {
  a: number;
  b: number;
  residualVar: number;
}

function fit(s: RunTimeStats, slopeMinRuns: number): Fit {
  const mx = s.sx / s.n;
  const my = s.sy / s.n;
  const vx = s.sxx / s.n - mx * mx;
  const cxy = s.sxy / s.n - mx * my;
  // The slope is trusted only once inputs vary enough to pin it; physical runs do not shrink with data.
  const b = s.n >= slopeMinRuns - COUNT_TOLERANCE && vx > 0.5 ? Math.min(1, Math.max(0, cxy / vx)) : 0;
  const vy = s.syy / s.n - my * my;
  return { a: my - b * mx, b, residualVar: Math.max(0, vy - b * cxy) };
}

/** ln of the input size in GB, the regression's x; an input of unknown or no size counts as 1 MB. */
export function logInputGb(inputBytes: number): number {
  return Math.log(Math.max(inputBytes, 1e6) / 1e9);
}

export function predictRunTime(
  s: RunTimeStats | undefined,
  inputBytes: number,
  p: Pick<RunTimeParams, 'minRuns' | 'slopeMinRuns'>,
): RunTimePrediction | undefined {
  // Decay makes counts fractional: three runs a minute ago still count as three.
  if (s === undefined || s.n < p.minRuns - COUNT_TOLERANCE) return undefined;
  const { a, b, residualVar } = fit(s, p.slopeMinRuns);
  const y = a + b * logInputGb(inputBytes);
  // The median, not the mean, for placement: exp(sigma^2 / 2) of a wide, uncertain fit swamps the other terms.
  return { medianS: Math.exp(y), meanS: Math.exp(y + residualVar / 2), runs: s.n };
}

/** The statistics with one more run of `runS` seconds on `inputBytes`, observed at `at`. */
export function addRun(
  prior: RunTimeStats | undefined,
  inputBytes: number,
  runS: number,
  at: number,
  p: RunTimeParams,
): RunTimeStats {
  const s = prior === undefined ? emptyRunTimeStats(at) : decayed(prior, at, p.halfLifeS);
  const x = logInputGb(inputBytes);
  let y = Math.log(Math.max(runS, 1e-3));
  if (s.n >= p.minRuns - COUNT_TOLERANCE) {
    const { a, b, residualVar } = fit(s, p.slopeMinRuns);
    const bound = p.outlierSigmas * Math.max(Math.sqrt(residualVar), p.minSigma);
    const expected = a + b * x;
    y = Math.min(expected + bound, Math.max(expected - bound, y));
  }
  return {
    n: s.n + 1,
    sx: s.sx + x,
    sy: s.sy + y,
    sxx: s.sxx + x * x,
    sxy: s.sxy + x * y,
    syy: s.syy + y * y,
    at: Math.max(s.at, at),
  };
}

/** How the statistics describe the tool: geometric mean run time and the run time's exponent on input size. */
export function describeRunTime(
  s: RunTimeStats,
  p: Pick<RunTimeParams, 'slopeMinRuns'>,
): { typicalRunS: number; sizeExponent: number } {
  if (s.n <= 0) return { typicalRunS: 0, sizeExponent: 0 };
  return { typicalRunS: Math.exp(s.sy / s.n), sizeExponent: fit(s, p.slopeMinRuns).b };
}
