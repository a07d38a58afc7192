import { PulsarSiteAdapter } from '../pulsar/pulsar-site-adapter';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import {
  AdapterError,
  type AdapterSite,
  type DeliveryProgress,
  type ProbeResult,
  type RemoteRef,
  type RemoteStatus,
  type SiteAdapter,
  type SubmitJob,
} from '../site-adapter';
import { oneLine } from '../http/bounded-text';
import { probeFailure } from '../http/probe-failure';
import {
  PLAN_NAME,
  prepareJob,
  remoteJobId,
  SCRIPT_NAME,
  SUBMITTED_MARKER,
  type PreparedJob,
} from '../pulsar/job-plan';
import { completedOutcome, unfinishedOutcome, type OutcomeOptions } from '../pulsar/job-outcome';
import { FinishedOutcomes } from '../pulsar/finished-outcomes';
import { jobScript } from '../pulsar/job-script';
import { PulsarJobs } from './pulsar-jobs';
import { PulsarProber } from './pulsar-probe';
import { pulsarTarget } from './pulsar-http';
import type { JobDirectories, PulsarJobStatus, PulsarStatus } from '../pulsar/pulsar-responses';
import { quote } from '../pulsar/shell-quote';
import { statusRound } from '../status-round';

export interface PulsarRestSiteAdapterOptions {
  /** Bound on each control call (status, setup, submit…), and on a stalled file transfer. Default 30 s. */
  timeoutMs?: number;
  /** Bound on one whole file transfer (an input upload, an output delivery). Default 1 h. */
  transferTimeoutMs?: number;
  /** CONSTELLATION_FILE_ROOTS: where file:// outputs may be written on the broker host. None: no file:// outputs. */
  fileRoots?: readonly string[];
  dispatcher?: Dispatcher;
  /** Finished jobs whose status is remembered, so a finished job is read once per process. Default 10 000. */
  rememberFinished?: number;
  /**
   * How long cancel() re-sends the kill and polls the status before it gives up (unreachable, so dispatch
   * retries the cancel): Pulsar ignores a kill while it stages inputs, and launches the job afterwards. Default 10 s.
   */
  cancelWaitMs?: number;
  /** How long a site without /healthz (Pulsar < 0.15.7) is probed another way before /healthz is tried again. Default 1 h. */
  healthzRecheckMs?: number;
}

const STATUS_CONCURRENCY = 8;
const CANCEL_POLL_MS = 250;
/** Statuses after which a kill has nothing left to stop. */
const FINAL_STATUSES: ReadonlySet<PulsarJobStatus> = new Set(['complete', 'failed', 'cancelled', 'lost']);

/**
 * Runs TES tasks at a Pulsar server through its REST API (pulsar-api.md). Each attempt is a Pulsar job
 * `${taskId}-${attempt}`: content inputs and a generated bash script are uploaded, http(s) inputs are pulled by
 * Pulsar itself (remote staging), and the broker downloads the outputs and writes them to their URLs.
 */
export class PulsarRestSiteAdapter extends PulsarSiteAdapter implements SiteAdapter {
  readonly kind = 'pulsar-rest' as const;
  readonly statusMode = 'per-task' as const;

  private readonly timeoutMs: number;
  private readonly outcomeOptions: OutcomeOptions;
  private readonly dispatcher?: Dispatcher;
  private readonly cancelWaitMs: number;
  /** site key + job id → status of a finished job; the promise is shared, so concurrent rounds read it once. */
  private readonly finished: FinishedOutcomes;
  private readonly prober: PulsarProber;

  constructor(options: PulsarRestSiteAdapterOptions = {}) {
    super(options.fileRoots);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.dispatcher = options.dispatcher;
    this.finished = new FinishedOutcomes(options.rememberFinished ?? 10_000);
    this.cancelWaitMs = options.cancelWaitMs ?? 10_000;
    this.prober = new PulsarProber({
      timeoutMs: this.timeoutMs,
      dispatcher: this.dispatcher,
      recheckMs: options.healthzRecheckMs,
    });
    this.outcomeOptions = {
      fileRoots: this.fileRoots,
      transferTimeoutMs: options.transferTimeoutMs ?? 60 * 60_000,
      stallMs: this.timeoutMs,
      dispatcher: this.dispatcher,
      downloadFailures: new Map(),
    };
  }

  private jobs(site: AdapterSite): PulsarJobs {
    return new PulsarJobs(pulsarTarget(site), {
      timeoutMs: this.timeoutMs,
      transferTimeoutMs: this.outcomeOptions.transferTimeoutMs,
      dispatcher: this.dispatcher,
      gate: site.requestGate,
    });
  }

  async probe(site: AdapterSite): Promise<ProbeResult> {
    const started = performance.now();
    try {
      const { version } = await this.prober.probe(pulsarTarget(site));
      return { ok: true, latencyMs: Math.round(performance.now() - started), version };
    } catch (err) {
      return probeFailure(err);
    }
  }

  async find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null> {
    const jobId = remoteJobId(taskId, attempt);
    const status = await this.jobs(site).status(jobId);
    // Pulsar answers an unknown id with HTTP 200 and status "lost".
    return status.status === 'lost' ? null : jobId;
  }

  async submit(site: AdapterSite, job: SubmitJob): Promise<RemoteRef> {
    // Everything that can be refused is refused before the site sees a request.
    const prepared = prepareJob(job, site, this.fileRoots);
    const jobId = prepared.plan.job_id;
    const jobs = this.jobs(site);
    if (job.firstSend !== true) {
      const existing = await jobs.status(jobId);
      if (existing.status !== 'lost' && !(await this.neverLaunched(jobs, jobId, existing))) return jobId;
    }
    const dirs = await jobs.setup(jobId);
    if (dirs.jobId !== jobId) {
      await jobs.clean(dirs.jobId).catch(() => undefined);
      throw new AdapterError(
        'rejected',
        `the site renamed job ${jobId} to ${oneLine(dirs.jobId, 80)}: its app.yml sets assign_ids: uuid, ` +
          'which Constellation cannot use (a resend could not find its job); the site must not set assign_ids: uuid',
      );
    }
    await this.launch(jobs, prepared, dirs);
    return jobId;
  }

  /**
   * A job set up but never submitted (the broker died in between) reports `preprocessing` forever, like one
   * whose inputs are still being fetched; only our marker tells them apart. Setup and uploads can be repeated.
   */
  private async neverLaunched(jobs: PulsarJobs, jobId: string, status: PulsarStatus): Promise<boolean> {
    if (status.status !== 'preprocessing') return false;
    return (await jobs.readText(jobId, 'output_metadata', SUBMITTED_MARKER, 1024)) === null;
  }

  private async launch(jobs: PulsarJobs, prepared: PreparedJob, dirs: JobDirectories): Promise<void> {
    const jobId = dirs.jobId;
    for (const input of prepared.staged) {
      if ('content' in input)
        await jobs.upload(jobId, 'input', input.name, Buffer.from(input.content, 'utf8'));
    }
    await jobs.upload(jobId, 'metadata', PLAN_NAME, Buffer.from(JSON.stringify(prepared.plan), 'utf8'));
    // 'tool' files live in tool_files/, which setup creates; the script is not executable there, hence `bash`.
    const scriptPath = await jobs.upload(
      jobId,
      'tool',
      SCRIPT_NAME,
      Buffer.from(jobScript(prepared, dirs), 'utf8'),
    );
    const setup = prepared.staged.flatMap((input) =>
      'url' in input
        ? [
            {
              name: input.name,
              type: 'input',
              // Pulsar writes the file to inputs/<name>; `source.path` and `path` only describe the client's copy,
              // but both must be present (pulsar/client/action_mapper.py from_dict pops `path` when `source` is set).
              action: {
                action_type: 'remote_transfer',
                url: input.url,
                source: { path: input.path },
                path: input.path,
              },
            },
          ]
        : [],
    );
    // No action_mapper: with one, Pulsar would try to push outputs itself after the job.
    await jobs.submit(jobId, `bash ${quote(scriptPath)}`, setup.length > 0 ? { setup } : {});
    // Best effort: without the marker, a resend during preprocessing submits again, which Pulsar ≥ 0.15.15 ignores.
    await jobs.upload(jobId, 'metadata', SUBMITTED_MARKER, Buffer.from('submitted\n')).catch(() => undefined);
  }

  async status(
    site: AdapterSite,
    refs: readonly RemoteRef[],
  ): Promise<Map<RemoteRef, RemoteStatus | AdapterError>> {
    if (refs.length === 0) return new Map();
    const jobs = this.jobs(site);
    return statusRound(refs, STATUS_CONCURRENCY, (ref) => this.statusOne(jobs, ref));
  }

  private async statusOne(jobs: PulsarJobs, ref: RemoteRef): Promise<RemoteStatus | AdapterError> {
    try {
      const status = await jobs.status(ref);
      const unfinished = unfinishedOutcome(status);
      if (unfinished) return unfinished;
      if (status.status === 'lost') return new AdapterError('lost', `Pulsar no longer knows job ${ref}`);
      const key = `${jobs.target.key}\u0000${ref}`;
      return await (this.finished.get(key) ??
        this.finished.remember(key, completedOutcome(jobs, ref, status, this.outcomeOptions, null)));
    } catch (err) {
      if (err instanceof AdapterError) return err;
      return new AdapterError(
        'protocol_error',
        `status of job ${ref}: ${oneLine(String(err), 200, jobs.target.secrets)}`,
      );
    }
  }

  /** Reads the finished job again (its listing may have changed) and delivers its outputs. */
  async deliver(site: AdapterSite, ref: RemoteRef, progress?: DeliveryProgress): Promise<RemoteStatus> {
    const jobs = this.jobs(site);
    const status = await jobs.status(ref);
    if (status.status === 'lost') throw new AdapterError('lost', `Pulsar no longer knows job ${ref}`);
    if (status.status !== 'complete') {
      throw new AdapterError('protocol_error', `job ${ref} is ${status.status} again after it was complete`);
    }
    return completedOutcome(jobs, ref, status, this.outcomeOptions, { progress });
  }

  /**
   * Cancels and polls until the job is final, re-sending the cancel meanwhile: Pulsar ignores a kill while it
   * stages the inputs (pulsar/managers/unqueued.py `_get_pid_for_killing_or_cancel` finds no pid) and launches
   * the job afterwards. Bounded by `cancelWaitMs`; a job still unfinished then is `unreachable`, so dispatch
   * retries the cancel later.
   */
  async cancel(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const jobs = this.jobs(site);
    const deadline = Date.now() + this.cancelWaitMs;
    let last: PulsarJobStatus;
    for (;;) {
      await jobs.cancel(ref);
      const status = await jobs.status(ref);
      last = status.status;
      if (FINAL_STATUSES.has(last)) return;
      // Set up but never submitted (the broker died in between): nothing will ever launch it.
      if (await this.neverLaunched(jobs, ref, status)) return;
      if (Date.now() >= deadline) break;
      await delay(CANCEL_POLL_MS);
    }
    throw new AdapterError(
      'unreachable',
      last === 'preprocessing'
        ? 'kill not yet effective: Pulsar is still staging inputs'
        : `kill not yet effective: Pulsar still reports the job ${last}`,
    );
  }

  async cleanup(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const jobs = this.jobs(site);
    await jobs.clean(ref);
    this.finished.forget(`${jobs.target.key}\u0000${ref}`);
  }
}
