import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_MODES, type FaultMode } from '../../sim-site/src';

export interface SiteFailure {
  slug: string;
  /** Seconds after the workload starts. */
  atSeconds: number;
  mode: FaultMode;
}

export interface DemoOptions {
  /** Mean tasks per second of the replayed workload. */
  rate: number;
  /** Seconds of workload before the drain and exit; undefined: until Ctrl-C. */
  durationSeconds: number | undefined;
  /** Longest wait for submitted tasks to finish after the workload stops. */
  drainSeconds: number;
  /** `active`, `all`, a count (the first N active endpoints) or comma-separated slugs. */
  sites: string;
  failures: SiteFailure[];
  seed: number;
  /** Modelled seconds per wall-clock second. */
  timeScale: number;
  port: number;
  progressSeconds: number;
  dataDir: string;
  /** A PostgreSQL database of the caller's instead of the embedded one (tests). */
  databaseUrl: string | undefined;
}

export const USAGE = `usage: npm run demo -- [--rate N] [--duration SECONDS] [--drain SECONDS] [--sites active|all|N|slug,...]
                     [--fail-site NAME@SECONDS[:MODE]]... [--seed N] [--time-scale N] [--port P]
                     [--progress SECONDS] [--data-dir DIR] [--database-url URL]
MODE is one of ${FAULT_MODES.join(', ')} (default die). See docs/demo.md.`;

export class DemoUsageError extends Error {}

function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max = Infinity,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new DemoUsageError(
      `--${name} must be a number from ${min}${max === Infinity ? ' up' : ` to ${max}`}, got "${raw}"`,
    );
  return n;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  const n = number(name, raw, fallback, min, max);
  if (!Number.isInteger(n)) throw new DemoUsageError(`--${name} must be an integer, got "${raw}"`);
  return n;
}

export function parseFailure(raw: string): SiteFailure {
  const m = /^([a-z0-9][a-z0-9-]{0,62})@(\d+(?:\.\d+)?)(?::([a-z]+))?$/.exec(raw);
  if (!m)
    throw new DemoUsageError(
      `--fail-site must look like eu-pulsar-it01@20 or eu-pulsar-it01@20:silent, got "${raw}"`,
    );
  const mode = (m[3] ?? 'die') as FaultMode;
  if (!FAULT_MODES.includes(mode))
    throw new DemoUsageError(`--fail-site mode must be one of ${FAULT_MODES.join(', ')}, got "${m[3]}"`);
  return { slug: m[1], atSeconds: Number(m[2]), mode };
}

export function parseDemoArgs(argv: string[], cwd = process.cwd()): DemoOptions {
  let values: Record<string, string | string[] | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        drain: { type: 'string' },
        sites: { type: 'string' },
        'fail-site': { type: 'string', multiple: true },
        seed: { type: 'string' },
        'time-scale': { type: 'string' },
        port: { type: 'string' },
        progress: { type: 'string' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | string[] | undefined>;
  } catch (err) {
    throw new DemoUsageError((err as Error).message);
  }
  const one = (k: string) => values[k] as string | undefined;
  const sites = one('sites') ?? 'active';
  if (!/^(active|all|[1-9]\d*|[a-z0-9-]+(,[a-z0-9-]+)*)$/.test(sites))
    throw new DemoUsageError(
      `--sites must be active, all, a number or comma-separated slugs, got "${sites}"`,
    );
  const databaseUrl = one('database-url');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new DemoUsageError('--database-url must be a postgres:// URL');
  return {
    rate: number('rate', one('rate'), 2, 0.01, 1000),
    durationSeconds: one('duration') === undefined ? undefined : number('duration', one('duration'), 0, 1),
    drainSeconds: number('drain', one('drain'), 60, 0),
    sites,
    failures: ((values['fail-site'] as string[] | undefined) ?? []).map(parseFailure),
    seed: integer('seed', one('seed'), 1, 0, 2 ** 31 - 1),
    timeScale: number('time-scale', one('time-scale'), 30, 0.01),
    port: integer('port', one('port'), 8080, 1, 65535),
    progressSeconds: number('progress', one('progress'), 5, 0.5),
    dataDir: path.resolve(cwd, one('data-dir') ?? '.constellation-demo'),
    databaseUrl,
  };
}
