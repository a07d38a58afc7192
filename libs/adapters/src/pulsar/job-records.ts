import { AdapterError } from '../site-adapter';
import { oneLine } from '../http/bounded-text';
import type { PlanOutput } from './job-plan';

/**
 * The job script's own account of a run: `_constellation/log` in the outputs directory, one tab-separated
 * record per line, appended as things happen:
 *
 *   begin    <time> <executor count>
 *   runtime  <docker|singularity|apptainer|none>
 *   exec     <index> <exit code> <start time> <end time>
 *   missing  <output key>
 *   system   <message>
 *   end      <time>
 *
 * Times are UTC RFC 3339 from `date -u`. A line without its newline was cut off by a kill and is ignored, as are
 * kinds this adapter does not know (a newer script may add some).
 */
export interface ExecRecord {
  index: number;
  exitCode: number;
  startTime: string;
  endTime: string;
}

export interface JobRecords {
  beginTime?: string;
  endTime?: string;
  executorCount?: number;
  runtime?: string;
  execs: ExecRecord[];
  missing: Set<string>;
  system: string[];
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const INT = /^-?\d{1,10}$/;

export function parseRecords(text: string, what: string): JobRecords {
  const records: JobRecords = { execs: [], missing: new Set(), system: [] };
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a record the script never finished
  const badLine = (n: number) =>
    new AdapterError('protocol_error', `${what}: record ${n + 1} is malformed: ${oneLine(lines[n], 80)}`);
  lines.forEach((line, n) => {
    const [kind, ...fields] = line.split('\t');
    switch (kind) {
      case 'begin':
        if (!TIME.test(fields[0] ?? '') || !INT.test(fields[1] ?? '')) throw badLine(n);
        records.beginTime = fields[0];
        records.executorCount = Number(fields[1]);
        break;
      case 'runtime':
        records.runtime = oneLine(fields[0] ?? '', 40);
        break;
      case 'exec': {
        const [index, code, start, end] = fields;
        if (
          !INT.test(index ?? '') ||
          !INT.test(code ?? '') ||
          !TIME.test(start ?? '') ||
          !TIME.test(end ?? '')
        ) {
          throw badLine(n);
        }
        records.execs.push({ index: Number(index), exitCode: Number(code), startTime: start, endTime: end });
        break;
      }
      case 'missing':
        if (!fields[0]) throw badLine(n);
        records.missing.add(fields[0]);
        break;
      case 'system':
        records.system.push(oneLine(fields.join(' '), 500));
        break;
      case 'end':
        if (!TIME.test(fields[0] ?? '')) throw badLine(n);
        records.endTime = fields[0];
        break;
      default:
        break;
    }
  });
  return records;
}

/** What status() needs from the plan it uploaded: which executors may fail, and where outputs go. */
export interface PlanSummary {
  ignoreError: boolean[];
  outputs: PlanOutput[];
}

export function parsePlanSummary(text: string, what: string): PlanSummary {
  const badPlan = (problem: string) => new AdapterError('protocol_error', `${what}: the job plan ${problem}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badPlan('is not JSON');
  }
  const plan = body as { version?: unknown; executors?: unknown; outputs?: unknown } | null;
  if (!plan || typeof plan !== 'object' || plan.version !== 1) throw badPlan('has an unknown version');
  if (!Array.isArray(plan.executors) || !Array.isArray(plan.outputs))
    throw badPlan('lacks executors or outputs');
  const ignoreError = plan.executors.map(
    (e: unknown) => (e as { ignore_error?: unknown })?.ignore_error === true,
  );
  const outputs = plan.outputs.map((o: unknown, i): PlanOutput => {
    const out = o as Partial<Record<keyof PlanOutput, unknown>> | null;
    const ok =
      out &&
      typeof out.key === 'string' &&
      /^o\d+$/.test(out.key) &&
      typeof out.path === 'string' &&
      typeof out.url === 'string' &&
      (out.type === 'FILE' || out.type === 'DIRECTORY') &&
      (out.path_prefix === undefined || typeof out.path_prefix === 'string');
    if (!ok) throw badPlan(`has a malformed outputs[${i}]`);
    const planned: PlanOutput = {
      key: out.key as string,
      path: out.path as string,
      type: out.type as PlanOutput['type'],
      url: out.url as string,
    };
    if (typeof out.path_prefix === 'string') planned.path_prefix = out.path_prefix;
    return planned;
  });
  return { ignoreError, outputs };
}
