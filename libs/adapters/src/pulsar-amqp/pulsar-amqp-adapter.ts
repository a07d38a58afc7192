import type { ConsumeMessage } from 'amqplib';
import {
  AdapterError,
  type AdapterSite,
  type ProbeResult,
  type RemoteRef,
  type RemoteStatus,
  type SiteAdapter,
  type SiteSchemes,
  type SubmitJob,
} from '../site-adapter';
import { oneLine } from '../tes/bounded-text';
import { completedOutcome, stderrTail, type OutcomeOptions } from '../pulsar-rest/job-outcome';
import { PLAN_NAME, prepareJob, remoteJobId } from '../pulsar-rest/job-plan';
import type { PulsarJobs } from '../pulsar-rest/pulsar-jobs';
import { parseStatus, type PulsarStatus } from '../pulsar-rest/pulsar-responses';
import { AmqpLink, amqpSecrets, redactAmqpUrl } from './amqp-link';
import type { JobFilesPort } from './job-files-port';
import { setupMessage } from './setup-message';
import { SpoolReader, type FinishedJobReader } from './spool-reader';

export interface PulsarAmqpSiteAdapterOptions {
  /** AMQP_URL: the message broker of sites registered without a URL of their own. */
  defaultAmqpUrl?: string;
  /** The broker's job-files endpoint, where Pulsar pulls big inputs and posts outputs. */
  jobFiles: JobFilesPort;
  /** CONSTELLATION_AMQP_RECONCILE_SECONDS: silence about a job before we ask for its status. Default 300. */
  reconcileSeconds?: number;
  /** Bound on connecting, publishing, and on waiting for the answer to a status request. Default 30 s. */
  timeoutMs?: number;
  /**
   * How long a status round waits for answers to the status requests it sent, before it reports the silent
   * jobs as unreachable. Default 5 s: a status round must not hold a dispatch lease for long.
   */
  answerWaitMs?: number;
  /** A job we submitted less than this long ago may be unknown to Pulsar yet: its setup message is queued. */
  submitGraceMs?: number;
  transferTimeoutMs?: number;
  fileRoots?: readonly string[];
  /** Finished jobs whose final status is remembered, so outputs are delivered once per process. */
  rememberFinished?: number;
}

interface Heard {
  status: PulsarStatus;
  at: number;
  /** The link's connection it came on; updates sent while it was down were lost. */
  generation: number;
}

interface Waiter {
  jobIds: Set<string>;
  resolve: () => void;
}

/** Queue names (pulsar/client/amqp_exchange.py `__key_prefix`): `pulsar__x` for `_default_`, else `pulsar_<m>__x`. */
export function pulsarQueue(manager: string, name: 'setup' | 'kill' | 'status' | 'status_update'): string {
  return manager === '_default_' ? `pulsar__${name}` : `pulsar_${manager}__${name}`;
}

/** One manager on one message broker: the status updates heard there, and who waits for them. */
class ManagerChannel {
  readonly heard = new Map<string, Heard>();
  private readonly waiters = new Set<Waiter>();
  private listening?: Promise<void>;

  constructor(
    readonly link: AmqpLink,
    readonly manager: string,
    private readonly remember: number,
  ) {}

  queue(name: 'setup' | 'kill' | 'status' | 'status_update'): string {
    return pulsarQueue(this.manager, name);
  }

  /** Starts consuming the status_update queue once; a failed start is retried by the next call. */
  listen(): Promise<void> {
    this.listening ??= this.link
      .consume(this.queue('status_update'), (message) => this.onUpdate(message))
      .catch((err: unknown) => {
        this.listening = undefined;
        throw err;
      });
    return this.listening;
  }

  private onUpdate(message: ConsumeMessage): void {
    const text = message.content.toString('utf8');
    let jobId: unknown;
    try {
      jobId = (JSON.parse(text) as { job_id?: unknown } | null)?.job_id;
    } catch {
      return;
    }
    if (typeof jobId !== 'string') return;
    let status: PulsarStatus;
    try {
      status = parseStatus(text, jobId, `status update of job ${jobId}`, []);
    } catch {
      return;
    }
    this.heard.delete(jobId);
    this.heard.set(jobId, { status, at: Date.now(), generation: this.link.generation });
    while (this.heard.size > this.remember) this.heard.delete(this.heard.keys().next().value as string);
    for (const waiter of this.waiters) {
      waiter.jobIds.delete(jobId);
      if (waiter.jobIds.size === 0) waiter.resolve();
    }
  }

  /**
   * Asks Pulsar about each job and waits (bounded) until every one of them was answered; answers the jobs
   * heard about meanwhile (a reply, or an update pushed on its own).
   */
  async ask(jobIds: readonly string[], waitMs: number): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    await this.listen();
    const pending = new Set(jobIds);
    let timer: NodeJS.Timeout | undefined;
    let done = (): void => undefined;
    const answered = new Promise<void>((resolve) => {
      const waiter: Waiter = {
        jobIds: pending,
        resolve: () => {
          this.waiters.delete(waiter);
          resolve();
        },
      };
      done = waiter.resolve;
      this.waiters.add(waiter);
      timer = setTimeout(waiter.resolve, waitMs);
    });
    try {
      for (const jobId of jobIds) await this.link.publish(this.queue('status'), { job_id: jobId });
      await answered;
    } finally {
      clearTimeout(timer);
      done();
    }
    return new Set(jobIds.filter((jobId) => !pending.has(jobId)));
  }
}

/**
 * Runs TES tasks at a Pulsar server that takes its jobs from a message queue (pulsar-api.md, "Message-queue
 * mode"). The job is the REST adapter's (same plan, script and records); only the transport differs: one setup
 * message carries the script and small files, Pulsar pulls http(s) inputs itself and everything else from the
 * job-files endpoint, POSTs the outputs and the script's records back there, and pushes status updates, which
 * status() answers from. Silence longer than the reconcile interval is broken with a status request.
 */
export class PulsarAmqpSiteAdapter implements SiteAdapter {
  readonly kind = 'pulsar-amqp' as const;

  private readonly links = new Map<string, AmqpLink>();
  private readonly managers = new Map<string, ManagerChannel>();
  private readonly finished = new Map<string, Promise<RemoteStatus | AdapterError>>();
  /** Job id → when this process published its setup message. */
  private readonly submitted = new Map<string, number>();
  private readonly files: JobFilesPort;
  private readonly reader: SpoolReader;
  private readonly timeoutMs: number;
  private readonly answerWaitMs: number;
  private readonly reconcileMs: number;
  private readonly submitGraceMs: number;
  private readonly fileRoots: readonly string[];
  private readonly rememberFinished: number;
  private readonly outcomeOptions: OutcomeOptions;

  constructor(private readonly options: PulsarAmqpSiteAdapterOptions) {
    this.files = options.jobFiles;
    this.reader = new SpoolReader(this.files);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.answerWaitMs = Math.min(options.answerWaitMs ?? 5_000, this.timeoutMs);
    this.reconcileMs = (options.reconcileSeconds ?? 300) * 1000;
    this.submitGraceMs = options.submitGraceMs ?? 120_000;
    this.fileRoots = [...(options.fileRoots ?? [])];
    this.rememberFinished = options.rememberFinished ?? 10_000;
    this.outcomeOptions = {
      fileRoots: this.fileRoots,
      transferTimeoutMs: options.transferTimeoutMs ?? 60 * 60_000,
      stallMs: this.timeoutMs,
    };
  }

  /** The site's broker URL with its stored credentials, if any, in place of the URL's own. */
  private urlOf(site: AdapterSite): string {
    const raw = site.url || this.options.defaultAmqpUrl;
    if (!raw) {
      throw new AdapterError('protocol_error', 'the site has no AMQP URL and the broker has no AMQP_URL');
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AdapterError('protocol_error', 'the site URL is not a valid URL');
    }
    if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
      throw new AdapterError('protocol_error', 'a Pulsar AMQP site needs an amqp(s) URL');
    }
    const creds = site.credentials;
    if (creds?.username) {
      url.username = encodeURIComponent(creds.username);
      url.password = encodeURIComponent(creds.password ?? '');
    }
    return url.toString();
  }

  private channel(site: AdapterSite): ManagerChannel {
    const url = this.urlOf(site);
    const manager = site.pulsarManager || 'constellation';
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(manager)) {
      throw new AdapterError('protocol_error', 'the Pulsar manager name must be letters, digits, _ . -');
    }
    let link = this.links.get(url);
    if (!link) {
      link = new AmqpLink(url, { timeoutMs: this.timeoutMs });
      this.links.set(url, link);
    }
    const key = `${url}\u0000${manager}`;
    let channel = this.managers.get(key);
    if (!channel) {
      channel = new ManagerChannel(link, manager, this.rememberFinished);
      this.managers.set(key, channel);
    }
    return channel;
  }

  async probe(site: AdapterSite): Promise<ProbeResult> {
    const started = performance.now();
    let secrets: string[] = [];
    try {
      const url = this.urlOf(site);
      secrets = amqpSecrets(url);
      const channel = this.channel(site);
      const setup = channel.queue('setup');
      const queue = await channel.link.inspect(setup);
      const latencyMs = Math.round(performance.now() - started);
      if (queue === null) {
        return {
          ok: false,
          latencyMs,
          error: `no queue ${setup} at ${redactAmqpUrl(url)}: Pulsar never ran there`,
        };
      }
      // Pulsar consumes its setup queue all the time; no consumer means it is not running.
      if (queue.consumerCount === 0) {
        return { ok: false, latencyMs, error: `nothing consumes ${setup}: Pulsar is not running` };
      }
      // Pulsar's queue tells nothing about how many jobs run there: no load is reported.
      return { ok: true, latencyMs, version: null };
    } catch (err) {
      const error =
        err instanceof AdapterError ? oneLine(`${err.kind}: ${err.message}`, 300, secrets) : 'probe failed';
      return { ok: false, latencyMs: null, error };
    }
  }

  /** Pulsar pulls http(s) itself (content inputs travel in the message); the broker delivers outputs. */
  async schemes(_site: AdapterSite): Promise<SiteSchemes> {
    const outputs = this.fileRoots.length > 0 ? ['file', 'http', 'https'] : ['http', 'https'];
    return { inputs: ['http', 'https'], outputs };
  }

  async find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null> {
    const jobId = remoteJobId(taskId, attempt);
    const channel = this.channel(site);
    const answered = await channel.ask([jobId], this.answerWaitMs);
    const heard = channel.heard.get(jobId);
    if (!heard || !answered.has(jobId)) {
      throw new AdapterError('unreachable', `Pulsar did not answer a status request for job ${jobId}`);
    }
    return heard.status.status === 'lost' ? null : jobId;
  }

  async submit(site: AdapterSite, job: SubmitJob): Promise<RemoteRef> {
    const prepared = prepareJob(job, site.runtimes, this.fileRoots);
    const jobId = prepared.plan.job_id;
    const channel = this.channel(site);
    if ((await this.find(site, job.taskId, job.attempt)) !== null) return jobId;
    const message = await setupMessage(prepared, this.files);
    this.submitted.set(jobId, Date.now());
    // Pulsar ignores a second setup message for a job it already launched (manager_endpoint_util._is_duplicate_setup).
    await channel.link.publish(channel.queue('setup'), message);
    channel.heard.delete(jobId);
    return jobId;
  }

  async status(
    site: AdapterSite,
    refs: readonly RemoteRef[],
  ): Promise<Map<RemoteRef, RemoteStatus | AdapterError>> {
    const result = new Map<RemoteRef, RemoteStatus | AdapterError>();
    const unique = [...new Set(refs)];
    if (unique.length === 0) return result;
    const channel = this.channel(site);
    await channel.listen();
    const now = Date.now();
    const stale = unique.filter((ref) => {
      const heard = channel.heard.get(ref);
      // A `lost` may only mean our setup message is still queued: ask again until the grace period ends.
      return (
        !heard ||
        heard.status.status === 'lost' ||
        heard.generation !== channel.link.generation ||
        now - heard.at >= this.reconcileMs
      );
    });
    const fresh = await channel.ask(stale, this.answerWaitMs);
    const silent = new Set(stale.filter((ref) => !fresh.has(ref)));
    let answered = 0;
    for (const ref of unique) {
      const heard = channel.heard.get(ref);
      // What we heard before a silence is no answer: a dead site must look dead, so dispatch can fail over.
      if (!heard || silent.has(ref)) {
        result.set(
          ref,
          new AdapterError('unreachable', `Pulsar did not answer a status request for job ${ref}`),
        );
        continue;
      }
      answered++;
      result.set(ref, await this.statusOf(channel, ref, heard.status));
    }
    if (answered === 0) {
      throw new AdapterError('unreachable', 'Pulsar answered none of our status requests');
    }
    return result;
  }

  private async statusOf(
    channel: ManagerChannel,
    ref: RemoteRef,
    status: PulsarStatus,
  ): Promise<RemoteStatus | AdapterError> {
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
      case 'lost': {
        // Our setup message may still wait in the queue behind others, while the status request did not.
        const sent = this.submitted.get(ref);
        if (sent !== undefined && Date.now() - sent < this.submitGraceMs)
          return { state: 'INITIALIZING', ...blank };
        return new AdapterError('lost', `Pulsar no longer knows job ${ref}`);
      }
      case 'failed':
        return {
          state: 'SYSTEM_ERROR',
          ...blank,
          systemLogs: [
            'Pulsar failed the job while staging its files (status "failed")',
            ...stderrTail(status),
          ],
        };
      case 'complete': {
        const key = `${channel.link.where}\u0000${channel.manager}\u0000${ref}`;
        const known = this.finished.get(key);
        if (known) return known;
        return this.remember(key, this.completed(ref, status));
      }
    }
  }

  /** Pulsar publishes `complete` after postprocessing, so everything it POSTed is in the spool by now. */
  private async completed(ref: RemoteRef, status: PulsarStatus): Promise<RemoteStatus> {
    const spooled: PulsarStatus = {
      ...status,
      outputs: await this.reader.outputs(ref),
      metadata: (await this.reader.hasPlan(ref)) ? new Set([PLAN_NAME]) : new Set(),
    };
    // completedOutcome reads through the two methods SpoolReader provides (see FinishedJobReader).
    const reader: FinishedJobReader = this.reader;
    return completedOutcome(reader as PulsarJobs, ref, spooled, this.outcomeOptions);
  }

  private remember(key: string, outcome: Promise<RemoteStatus>): Promise<RemoteStatus | AdapterError> {
    const settled = outcome.catch((err: unknown) =>
      err instanceof AdapterError ? err : new AdapterError('protocol_error', oneLine(String(err), 200)),
    );
    this.finished.set(key, settled);
    while (this.finished.size > this.rememberFinished) {
      this.finished.delete(this.finished.keys().next().value as string);
    }
    void settled.then((result) => {
      if (result instanceof AdapterError && result.kind === 'unreachable') this.finished.delete(key);
    });
    return settled;
  }

  /** Pulsar publishes nothing after a kill: the status request that follows brings `cancelled`. */
  async cancel(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const channel = this.channel(site);
    await channel.listen();
    await channel.link.publish(channel.queue('kill'), { job_id: ref });
    channel.heard.delete(ref);
    this.submitted.delete(ref);
    await channel.link.publish(channel.queue('status'), { job_id: ref });
  }

  /** Pulsar removes its own job directory after postprocessing (its `cleanup_job` setting); ours is the spool. */
  async cleanup(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const channel = this.channel(site);
    await this.files.remove(ref);
    channel.heard.delete(ref);
    this.submitted.delete(ref);
    this.finished.delete(`${channel.link.where}\u0000${channel.manager}\u0000${ref}`);
  }

  /** Closes every connection (tests, shutdown). */
  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    this.managers.clear();
    await Promise.all(links.map((link) => link.close()));
  }
}
