import { basename } from 'node:path';
import type { TesExecutorLog, TesOutputFileLog } from '@constellation/tes';
import {
  AdapterError,
  deliveredOutputKey,
  STREAM_TAIL_BYTES,
  type DeliveryProgress,
  type RemoteStatus,
} from '../site-adapter';
import { oneLine, utf8Head, utf8Tail } from '../http/bounded-text';
import { PLAN_NAME, RECORDS_DIR, RECORDS_LOG, type PlanOutput } from './job-plan';
import { parsePlanSummary, parseRecords, type JobRecords } from './job-records';
import {
  deliver,
  DeliveryAborted,
  DeliveryFailure,
  SourceFailure,
  type DeliveryOptions,
} from '../pulsar-rest/output-delivery';
import { describeUrl, joinUrl, targetOf } from './output-targets';
import type { PulsarJobs } from '../pulsar-rest/pulsar-jobs';
import type { PulsarStatus } from './pulsar-responses';

const MAX_RECORDS_BYTES = 1024 * 1024;
const MAX_PLAN_BYTES = 8 * 1024 * 1024;
const SYSTEM_LOG_BYTES = 4 * 1024;

export interface OutcomeOptions extends DeliveryOptions {
  fileRoots: readonly string[];
  /**
   * Names (under the outputs folder) the job script collected that the site did not deliver. The AMQP adapter
   * checks the script's manifest: Pulsar swallows failed output uploads (pulsar/client/staging/down.py).
   */
  undelivered?: (jobId: string) => Promise<string[]>;
  /**
   * Consecutive failed downloads of a file the site lists, per `<job id>\0<name>`, kept by the adapter across
   * status rounds: a file Pulsar lists but cannot serve (a dangling symbolic link) must not be retried for ever.
   */
  downloadFailures?: Map<string, number>;
}

/** Failed downloads of one listed file after which the task fails naming it. */
export const MAX_DOWNLOAD_FAILURES = 3;
const MAX_TRACKED_FAILURES = 10_000;

function systemError(
  lines: string[],
  records?: JobRecords,
  executorLogs: TesExecutorLog[] = [],
): RemoteStatus {
  return {
    state: 'SYSTEM_ERROR',
    executorLogs,
    outputs: [],
    systemLogs: lines.map((line) => utf8Head(line, SYSTEM_LOG_BYTES)),
    ...times(records),
  };
}

function times(records?: JobRecords): Pick<RemoteStatus, 'startTime' | 'endTime'> {
  const out: Pick<RemoteStatus, 'startTime' | 'endTime'> = {};
  if (records?.beginTime) out.startTime = records.beginTime;
  if (records?.endTime) out.endTime = records.endTime;
  return out;
}

/** The last lines of Pulsar's own record of the script's stderr, for a system log. */
export function stderrTail(status: PulsarStatus): string[] {
  const tail = utf8Tail(status.jobStderr.trim(), 2 * 1024);
  return tail ? [`job stderr (tail): ${tail}`] : [];
}

/**
 * The task's status for a Pulsar job status that needs nothing read from the job: every status but `lost`
 * (each adapter has its own grace) and `complete` (see completedOutcome), for which it gives undefined.
 */
export function unfinishedOutcome(status: PulsarStatus): RemoteStatus | undefined {
  const blank = { executorLogs: [], outputs: [], systemLogs: [] };
  switch (status.status) {
    case 'preprocessing':
    case 'queued':
      return { state: 'INITIALIZING', ...blank };
    case 'running':
    case 'postprocessing':
      return { state: 'RUNNING', ...blank };
    case 'cancelled':
      return { state: 'CANCELED', ...blank };
    case 'failed':
      return {
        state: 'SYSTEM_ERROR',
        ...blank,
        systemLogs: [
          'Pulsar failed the job while staging its files (status "failed")',
          ...stderrTail(status),
        ],
      };
    case 'lost':
    case 'complete':
      return undefined;
  }
}

/**
 * Turns a job Pulsar calls `complete` into the task's status: reads the plan and the script's records, and,
 * when every executor that had to succeed did, either reports the outputs as awaiting delivery (`delivery`
 * null: a status check, which only reads) or delivers them. Rejects with `unreachable` (the site failed while
 * we read from it: try again later) or `undeliverable` (a destination failed); everything else is a status.
 */
export async function completedOutcome(
  jobs: PulsarJobs,
  jobId: string,
  status: PulsarStatus,
  opts: OutcomeOptions,
  delivery: { progress?: DeliveryProgress } | null,
): Promise<RemoteStatus> {
  if (!status.outputs.has(RECORDS_LOG)) {
    return systemError([
      `the job script left no records (Pulsar return code ${status.returncode ?? 'unknown'})`,
      ...stderrTail(status),
    ]);
  }
  const planText = status.metadata.has(PLAN_NAME)
    ? await jobs.readText(jobId, 'output_metadata', PLAN_NAME, MAX_PLAN_BYTES)
    : null;
  const recordsText = await jobs.readText(jobId, 'output', RECORDS_LOG, MAX_RECORDS_BYTES);
  if (planText === null || recordsText === null) {
    throw new AdapterError('unreachable', 'Pulsar listed the job plan or records but did not serve them');
  }
  const plan = parsePlanSummary(planText, `job ${jobId}`);
  const records = parseRecords(recordsText, `job ${jobId} records`);
  const executorLogs = await executorLogsOf(jobs, jobId, status, records);

  if (records.system.length > 0) return systemError(records.system, records, executorLogs);
  const failing = records.execs.find((e) => e.exitCode !== 0 && !plan.ignoreError[e.index]);
  if (failing) {
    return {
      state: 'EXECUTOR_ERROR',
      executorLogs,
      outputs: [],
      systemLogs: [`executor ${failing.index} exited with code ${failing.exitCode}`],
      ...times(records),
    };
  }
  if (records.execs.length < plan.ignoreError.length || records.endTime === undefined) {
    return systemError(
      [
        `the job script stopped after ${records.execs.length} of ${plan.ignoreError.length} executors`,
        ...stderrTail(status),
      ],
      records,
      executorLogs,
    );
  }
  const missing = plan.outputs.filter((o) => records.missing.has(o.key));
  if (missing.length > 0) {
    return systemError(
      missing.map((o) => `output ${o.path} was not produced`),
      records,
      executorLogs,
    );
  }
  if (opts.undelivered) {
    const lost = await opts.undelivered(jobId);
    if (lost.length > 0) {
      const shown = lost
        .slice(0, 20)
        .map((name) => `Pulsar did not deliver ${describeName(plan.outputs, name)}`);
      if (lost.length > shown.length) shown.push(`… and ${lost.length - shown.length} more files`);
      return systemError(shown, records, executorLogs);
    }
  }
  if (plan.outputs.length === 0 || delivery === null) {
    const awaiting = plan.outputs.length > 0 ? { awaitingDelivery: true } : {};
    return { state: 'COMPLETE', executorLogs, outputs: [], systemLogs: [], ...times(records), ...awaiting };
  }
  try {
    const outputs = await deliverOutputs(jobs, jobId, status, plan.outputs, {
      ...opts,
      progress: delivery.progress,
    });
    return { state: 'COMPLETE', executorLogs, outputs, systemLogs: [], ...times(records) };
  } catch (err) {
    if (err instanceof OutputProblem) return systemError([err.message], records, executorLogs);
    throw err;
  }
}

async function executorLogsOf(
  jobs: PulsarJobs,
  jobId: string,
  status: PulsarStatus,
  records: JobRecords,
): Promise<TesExecutorLog[]> {
  const tail = async (name: string): Promise<string | undefined> => {
    if (!status.outputs.has(name)) return undefined;
    // The script already cut these; a little slack covers nothing but a misbehaving site.
    const text = await jobs.readText(jobId, 'output', name, STREAM_TAIL_BYTES + 1024);
    return text === null ? undefined : utf8Tail(text, STREAM_TAIL_BYTES);
  };
  const logs: TesExecutorLog[] = [];
  for (const exec of [...records.execs].sort((a, b) => a.index - b.index)) {
    const log: TesExecutorLog = {
      exit_code: exec.exitCode,
      start_time: exec.startTime,
      end_time: exec.endTime,
    };
    const stdout = await tail(`${RECORDS_DIR}/${exec.index}.stdout`);
    const stderr = await tail(`${RECORDS_DIR}/${exec.index}.stderr`);
    if (stdout !== undefined) log.stdout = stdout;
    if (stderr !== undefined) log.stderr = stderr;
    logs.push(log);
  }
  return logs;
}

/** A reason to fail the task that names the output. */
class OutputProblem extends Error {}

interface OutputFile {
  /** Its name under Pulsar's outputs directory. */
  name: string;
  containerPath: string;
  url: URL;
}

function filesOf(output: PlanOutput, listing: ReadonlySet<string>): OutputFile[] {
  let url: URL;
  try {
    url = new URL(output.url);
  } catch {
    throw new OutputProblem(`output ${output.path}: the URL is not valid`);
  }
  if (output.type === 'FILE' && output.path_prefix === undefined) {
    return [{ name: output.key, containerPath: output.path, url }];
  }
  const folder = `${output.key}/`;
  return [...listing]
    .filter((name) => name.startsWith(folder))
    .sort()
    .map((name) => {
      const rel = name.slice(folder.length);
      return { name, containerPath: inFolder(output, rel), url: joinUrl(url, rel) };
    });
}

/** The container path of `rel` inside a directory or wildcard output. */
function inFolder(output: PlanOutput, rel: string): string {
  const base = output.path_prefix ?? `${output.path}/`;
  // A prefix that ends inside a name (`/data/run_`) is followed by the rest of that name.
  const joiner = base.endsWith('/') || output.path.charAt(base.length) !== '/' ? '' : '/';
  return `${base}${joiner}${rel}`;
}

/** A name under the outputs folder as the task knows it: its container path, or the name itself. */
function describeName(outputs: readonly PlanOutput[], name: string): string {
  for (const output of outputs) {
    if (output.type === 'FILE' && output.path_prefix === undefined) {
      if (name === output.key) return `output ${output.path}`;
    } else if (name.startsWith(`${output.key}/`)) {
      return `output ${inFolder(output, name.slice(output.key.length + 1))}`;
    }
  }
  return name;
}

async function deliverOutputs(
  jobs: PulsarJobs,
  jobId: string,
  status: PulsarStatus,
  outputs: readonly PlanOutput[],
  opts: OutcomeOptions,
): Promise<TesOutputFileLog[]> {
  const logs: TesOutputFileLog[] = [];
  for (const output of outputs) {
    for (const file of filesOf(output, status.outputs)) {
      const key = deliveredOutputKey(file.url.toString(), file.containerPath);
      const earlier = opts.progress?.delivered?.get(key);
      if (earlier) {
        logs.push(earlier);
        continue;
      }
      const target = targetOf(file.url, opts.fileRoots);
      if (typeof target === 'string') throw new OutputProblem(`output ${file.containerPath}: ${target}`);
      const source = await jobs.download(jobId, 'output', file.name);
      const failureKey = `${jobId}\u0000${file.name}`;
      if (source.status !== 200) {
        await source.body.dump();
        if (!status.outputs.has(file.name)) {
          throw new OutputProblem(
            `output ${file.containerPath} was not produced (the site has no such file)`,
          );
        }
        const failures = opts.downloadFailures;
        const count = (failures?.get(failureKey) ?? 0) + 1;
        if (failures && count >= MAX_DOWNLOAD_FAILURES) {
          failures.delete(failureKey);
          throw new OutputProblem(
            `output ${file.containerPath}: the site lists it but failed to serve it ${count} times ` +
              `(HTTP ${source.status}; a dangling symbolic link?)`,
          );
        }
        if (failures) {
          failures.delete(failureKey);
          failures.set(failureKey, count);
          while (failures.size > MAX_TRACKED_FAILURES)
            failures.delete(failures.keys().next().value as string);
        }
        throw new AdapterError(
          'unreachable',
          `downloading output ${file.containerPath}: HTTP ${source.status}`,
        );
      }
      opts.downloadFailures?.delete(failureKey);
      let log: TesOutputFileLog;
      try {
        const bytes = await deliver(source, target, basename(file.containerPath), opts);
        log = { url: file.url.toString(), path: file.containerPath, size_bytes: String(bytes) };
      } catch (err) {
        await source.body.dump().catch(() => undefined);
        if (err instanceof SourceFailure) {
          throw new AdapterError('unreachable', `downloading output ${file.containerPath}: ${err.message}`);
        }
        if (err instanceof DeliveryAborted) throw new AdapterError('unreachable', err.message);
        const [destination, reason] =
          err instanceof DeliveryFailure
            ? [err.destination, err.reason]
            : [describeUrl(file.url), oneLine(String(err), 200)];
        throw new AdapterError(
          'undeliverable',
          `the broker could not deliver output ${file.containerPath} to ${destination}: ${reason}`,
        );
      }
      logs.push(log);
      await opts.progress?.onDelivered?.(key, log);
    }
  }
  return logs;
}
