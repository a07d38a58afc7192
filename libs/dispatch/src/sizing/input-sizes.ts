import {
  decayed,
  type Fingerprint,
  type RunTimeEstimator,
  type TaskInput,
  type TaskRequirement,
} from '@constellation/scheduler';
import { DEFAULT_INPUT_BYTES } from '../task-requirement';
import type { SizeLookup } from './head-size-resolver';

/** A tool's typical total input, learned from its completions. */
export interface LearnedInput {
  bytes: number;
  label: string;
}

/** Binary units as an admin reads them: `3.2 GiB`, `64 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/**
 * The median total input of the fingerprint's runs (the geometric mean of the run-time regression's x,
 * which is ln input GB), once it has as many runs as a run-time estimate needs.
 */
export function learnedInput(
  estimator: RunTimeEstimator,
  fingerprint: Fingerprint | undefined,
  now: number,
): LearnedInput | undefined {
  const record = fingerprint && estimator.tool(fingerprint.key);
  if (record === undefined) return undefined;
  const stats = decayed(record.stats, now, estimator.params.halfLifeS);
  if (stats.n < estimator.params.minRuns - 0.5 || stats.n <= 0) return undefined;
  return { bytes: Math.exp(stats.sx / stats.n) * 1e9, label: record.label };
}

/**
 * Gives each input with a URL its size and where it came from: the store's answer to HEAD when known, else
 * an equal share of the tool's learned median input, else the default. Changes `requirement` in place.
 */
export function sizeInputs(
  requirement: TaskRequirement,
  headSize: (url: string) => number | undefined,
  learned: LearnedInput | undefined,
): void {
  const withUrl = requirement.inputs.filter((i) => i.url !== undefined);
  for (const input of withUrl) {
    const head = input.stagedByTask ? undefined : headSize(input.url as string);
    if (head !== undefined) {
      input.sizeBytes = head;
      input.sizeSource = `HEAD: ${formatBytes(head)}`;
    } else if (learned !== undefined) {
      input.sizeBytes = Math.round(learned.bytes / withUrl.length);
      input.sizeSource = `learned median input of ${learned.label}`;
    } else {
      input.sizeBytes = DEFAULT_INPUT_BYTES;
      input.sizeSource = `default ${formatBytes(DEFAULT_INPUT_BYTES)}`;
    }
  }
}

/**
 * The URLs placement may ask sizes for: inputs the site fetches (a task's own staging carries its keys), each
 * with whether its store allows a HEAD to URLs that carry a credential in their query.
 */
export function sizableUrls(
  requirements: Iterable<TaskRequirement>,
  stores: readonly { id: string; headSignedUrls?: boolean }[] = [],
): SizeLookup[] {
  const headSigned = new Set(stores.filter((s) => s.headSignedUrls === true).map((s) => s.id));
  const urls: SizeLookup[] = [];
  for (const r of requirements) {
    for (const i of r.inputs) {
      if (i.url === undefined || i.stagedByTask) continue;
      urls.push({ url: i.url, headSigned: i.dataStoreId !== undefined && headSigned.has(i.dataStoreId) });
    }
  }
  return urls;
}

/** The inputs' sizes in one phrase: `3.2 GiB in all (HEAD: 3.0 GiB; default 64 MiB x 3)`. */
export function describeSizes(inputs: readonly TaskInput[]): string {
  const total = inputs.reduce((sum, i) => sum + i.sizeBytes, 0);
  const counts = new Map<string, number>();
  for (const i of inputs) {
    const source = i.sizeSource ?? `${formatBytes(i.sizeBytes)}`;
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  const parts = [...counts].map(([source, n]) => (n > 1 ? `${source} x ${n}` : source));
  return `${formatBytes(total)} in all (${parts.join('; ')})`;
}
