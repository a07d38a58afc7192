/**
 * What the bench reads from the brokers' /metrics (Prometheus text), so it measures the broker from outside
 * and keeps working whatever the dispatch code looks like inside.
 */
import { httpCall } from '../support/bench-broker';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Every replica's samples together: counters and histograms add up across processes. */
export async function scrape(brokers: readonly string[]): Promise<Sample[]> {
  const texts = await Promise.all(brokers.map(async (b) => (await httpCall(`${b}/metrics`)).text));
  return texts.flatMap(parseMetrics);
}

function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** One dispatch step's rounds so far, from constellation_dispatch_step_duration_seconds. */
export interface StepSoFar {
  count: number;
  sum: number;
  /** Cumulative counts by bucket bound (le), ascending. */
  buckets: Array<[number, number]>;
}

export function stepSoFar(samples: Sample[], step: string): StepSoFar {
  const name = 'constellation_dispatch_step_duration_seconds';
  const bounds = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.step !== step) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    bounds.set(le, (bounds.get(le) ?? 0) + s.value);
  }
  return {
    count: sum(samples, `${name}_count`, { step }),
    sum: sum(samples, `${name}_sum`, { step }),
    buckets: [...bounds.entries()].sort((a, b) => a[0] - b[0]),
  };
}

export interface StepWindow {
  rounds: number;
  meanS: number;
  /** Upper bound of the bucket holding the 99th percentile (Infinity past the last bucket). */
  p99AtMostS: number;
  /** Upper bound of the bucket holding the slowest round. */
  maxAtMostS: number;
}

/** The rounds of one step between two scrapes. */
export function stepWindow(before: StepSoFar, after: StepSoFar): StepWindow {
  const rounds = after.count - before.count;
  const countAt = (le: number, from: StepSoFar) => from.buckets.find(([b]) => b === le)?.[1] ?? 0;
  const within = after.buckets.map(([le, n]) => [le, n - countAt(le, before)] as const);
  const atMost = (q: number) => within.find(([, n]) => n >= Math.ceil(rounds * q))?.[0] ?? Infinity;
  return {
    rounds,
    meanS: rounds > 0 ? (after.sum - before.sum) / rounds : 0,
    p99AtMostS: rounds > 0 ? atMost(0.99) : 0,
    maxAtMostS: rounds > 0 ? atMost(1) : 0,
  };
}

/** Calls the brokers made to each site, by slug, from constellation_site_calls_total. */
export function siteCalls(samples: Sample[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== 'constellation_site_calls_total') continue;
    out.set(s.labels.site, (out.get(s.labels.site) ?? 0) + s.value);
  }
  return out;
}

/** Unfinished tasks by state, as the brokers report them from the database (every replica the same). */
export function unfinished(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === 'constellation_tasks_unfinished') out[s.labels.state] = s.value;
  return out;
}
