import { PulsarSiteAdapter } from '../pulsar/pulsar-site-adapter';
import { setTimeout as delay } from 'node:timers/promises';
import type { ConsumeMessage } from 'amqplib';
import {
  AdapterError,
  type AdapterSite,
  type DeliveryProgress,
  type ProbeResult,
  type RemoteRef,
  type RequestGate,
  type RemoteStatus,
  type SiteAdapter,
  type SubmitJob,
} from '../site-adapter';
import { probeFailure } from '../http/probe-failure';
import { completedOutcome, unfinishedOutcome, type OutcomeOptions } from '../pulsar/job-outcome';
import { FinishedOutcomes } from '../pulsar/finished-outcomes';
import { PLAN_NAME, prepareJob, remoteJobId } from '../pulsar/job-plan';
import type { PulsarJobs } from '../pulsar-rest/pulsar-jobs';
import { parseStatus, type PulsarJobStatus, type PulsarStatus } from '../pulsar/pulsar-responses';
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
  /** Finished jobs whose status is remembered, so a finished job's spool is read once per process. */
  rememberFinished?: number;
  /**
   * How long cancel() re-sends the kill and asks for the status before it gives up (unreachable, so dispatch
   * retries the cancel): Pulsar ignores a kill while it stages inputs, and launches the job afterwards. Default 10 s.
   */
  cancelWaitMs?: number;
  /** Lifetime of a status request in Pulsar's queue: requests sent while Pulsar is down must not pile up. Default 60 s. */
  statusRequestTtlMs?: number;
}

/** Statuses after which a kill has nothing left to stop. */
const FINAL_STATUSES: ReadonlySet<PulsarJobStatus> = new Set(['complete', 'failed', 'cancelled', 'lost']);
const CANCEL_POLL_MS = 250;

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
export function pulsarQueue(
  manager: string,
  name: 'setup' | 'kill' | 'status' | 'status_update' | 'status_update_ack',
): string {
  return manager === '_default_' ? `pulsar__${name}` : `pulsar_${manager}__${name}`;
}

/** One manager on one message broker: the status updates heard there, and who waits for them. */
class ManagerChannel {
  readonly heard = new Map<string, Heard>();
  /**
   * Jobs we sent a kill that has not yet shown: a status heard for them is never taken as fresh (Pulsar publishes
   * nothing after a kill), and the kill is re-sent while Pulsar reports them unfinished.
   */
  readonly cancelPending = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private listening?: Promise<void>;

  constructor(
    readonly link: AmqpLink,
    readonly manager: string,
    private readonly remember: number,
    private readonly statusTtlMs: number,
    /** Told of each job whose heard status changed: what dispatch applies at once. */
    private readonly changed: (jobId: string) => void,
  ) {}

  pendCancel(jobId: string): void {
    this.cancelPending.delete(jobId);
    this.cancelPending.add(jobId);
    while (this.cancelPending.size > this.remember) {
      this.cancelPending.delete(this.cancelPending.values().next().value as string);
    }
  }

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
    let body: { job_id?: unknown; acknowledge_uuid?: unknown; acknowledge_queue?: unknown } | null;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return;
    }
    if (typeof body !== 'object' || body === null) return;
    this.acknowledge(body.acknowledge_uuid, body.acknowledge_queue);
    const jobId = body.job_id;
    if (typeof jobId !== 'string') return;
    let status: PulsarStatus;
    try {
      status = parseStatus(text, jobId, `status update of job ${jobId}`, []);
    } catch {
      return;
    }
    const before = this.heard.get(jobId)?.status.status;
    this.heard.delete(jobId);
    this.heard.set(jobId, { status, at: Date.now(), generation: this.link.generation });
    while (this.heard.size > this.remember) this.heard.delete(this.heard.keys().next().value as string);
    let awaited = false;
    for (const waiter of this.waiters) {
      awaited ||= waiter.jobIds.delete(jobId);
      if (waiter.jobIds.size === 0) waiter.resolve();
    }
    // Only news is worth a claim: not a status that repeats what we knew, nor the answer to a status request
    // of ours, which the caller that asked applies itself.
    if (before !== status.status && !awaited) this.changed(jobId);
  }

  /**
   * A site with `amqp_acknowledge: true` republishes each status update until its consumer answers
   * `{"acknowledge_uuid_response": <uuid>}` on `<prefix>_<acknowledge_queue>` (pulsar/client/amqp_exchange.py
   * `__ack_callback`; the queue is `status_update_ack`).
   */
  private acknowledge(uuid: unknown, queue: unknown): void {
    if (typeof uuid !== 'string' || uuid.length === 0 || uuid.length > 200) return;
    const name =
      typeof queue === 'string' && /^[A-Za-z0-9_]{1,100}_ack$/.test(queue) ? queue : 'status_update_ack';
    const key = this.manager === '_default_' ? `pulsar__${name}` : `pulsar_${this.manager}__${name}`;
    // Unanswered, Pulsar only republishes the update later: nothing to do on failure.
    this.link.publish(key, { acknowledge_uuid_response: uuid }).catch(() => undefined);
  }

  /**
   * Asks Pulsar about each job and waits (bounded) until every one of them was answered; answers the jobs
   * heard about meanwhile (a reply, or an update pushed on its own). `gate`: the site's request budget, taken
   * from before the requests go out (absent: the caller took from it).
   */
  async ask(jobIds: readonly string[], waitMs: number, gate?: RequestGate): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    await gate?.take(jobIds.length);
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
      for (const jobId of jobIds) {
        await this.link.publish(this.queue('status'), { job_id: jobId }, { expirationMs: this.statusTtlMs });
      }
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
export class PulsarAmqpSiteAdapter extends PulsarSiteAdapter implements SiteAdapter {
  readonly kind = 'pulsar-amqp' as const;
  readonly statusMode = 'pushed' as const;

  private closed = false;
  private readonly pushListeners = new Set<(ref: RemoteRef) => void>();
  private readonly links = new Map<string, AmqpLink>();
  private readonly managers = new Map<string, ManagerChannel>();
  private readonly finished: FinishedOutcomes;
  /** Job id → when this process published its setup message. */
  private readonly submitted = new Map<string, number>();
  private readonly files: JobFilesPort;
  private readonly reader: SpoolReader;
  private readonly timeoutMs: number;
  private readonly answerWaitMs: number;
  private readonly reconcileMs: number;
  private readonly submitGraceMs: number;
  private readonly rememberFinished: number;
  private readonly cancelWaitMs: number;
  private readonly statusTtlMs: number;
  private readonly outcomeOptions: OutcomeOptions;

  constructor(private readonly options: PulsarAmqpSiteAdapterOptions) {
    super(options.fileRoots);
    this.files = options.jobFiles;
    this.reader = new SpoolReader(this.files);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.answerWaitMs = Math.min(options.answerWaitMs ?? 5_000, this.timeoutMs);
    this.reconcileMs = (options.reconcileSeconds ?? 300) * 1000;
    this.submitGraceMs = options.submitGraceMs ?? 120_000;
    this.rememberFinished = options.rememberFinished ?? 10_000;
    this.finished = new FinishedOutcomes(this.rememberFinished);
    this.cancelWaitMs = options.cancelWaitMs ?? 10_000;
    this.statusTtlMs = options.statusRequestTtlMs ?? 60_000;
    this.outcomeOptions = {
      fileRoots: this.fileRoots,
      transferTimeoutMs: options.transferTimeoutMs ?? 60 * 60_000,
      stallMs: this.timeoutMs,
      undelivered: (jobId) => this.reader.undelivered(jobId),
      downloadFailures: new Map(),
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
    // After close(), a step still finishing must not open a connection nothing will ever close.
    if (this.closed) throw new AdapterError('unreachable', 'the broker is shutting down');
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
      channel = new ManagerChannel(link, manager, this.rememberFinished, this.statusTtlMs, (jobId) =>
        this.pushed(jobId),
      );
      this.managers.set(key, channel);
    }
    return channel;
  }

  onStatusPushed(listener: (ref: RemoteRef) => void): () => void {
    this.pushListeners.add(listener);
    return () => this.pushListeners.delete(listener);
  }

  private pushed(jobId: string): void {
    for (const listener of this.pushListeners) {
      try {
        listener(jobId);
      } catch {
        // A listener's failure is its own; the update stays heard for the next status().
      }
    }
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
      return probeFailure(err, secrets);
    }
  }

  async find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null> {
    const jobId = remoteJobId(taskId, attempt);
    const channel = this.channel(site);
    const answered = await channel.ask([jobId], this.answerWaitMs, site.requestGate);
    const heard = channel.heard.get(jobId);
    if (!heard || !answered.has(jobId)) {
      throw new AdapterError('unreachable', `Pulsar did not answer a status request for job ${jobId}`);
    }
    return heard.status.status === 'lost' ? null : jobId;
  }

  async submit(site: AdapterSite, job: SubmitJob): Promise<RemoteRef> {
    const prepared = prepareJob(job, site, this.fileRoots);
    const jobId = prepared.plan.job_id;
    const channel = this.channel(site);
    if (job.firstSend !== true && (await this.find(site, job.taskId, job.attempt)) !== null) return jobId;
    // Updates published while nobody consumes are dropped: consume before the job can report, also when no
    // status request (which would start it) went first.
    await channel.listen();
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
        channel.cancelPending.has(ref) ||
        heard.status.status === 'lost' ||
        heard.generation !== channel.link.generation ||
        now - heard.at >= this.reconcileMs
      );
    });
    const fresh = await channel.ask(stale, this.answerWaitMs, site.requestGate);
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
      if (channel.cancelPending.has(ref)) this.followKill(channel, ref, heard.status.status);
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
    const unfinished = unfinishedOutcome(status);
    if (unfinished) return unfinished;
    if (status.status === 'lost') {
      // Our setup message may still wait in the queue behind others, while the status request did not.
      const sent = this.submitted.get(ref);
      if (sent !== undefined && Date.now() - sent < this.submitGraceMs)
        return { state: 'INITIALIZING', executorLogs: [], outputs: [], systemLogs: [] };
      return new AdapterError('lost', `Pulsar no longer knows job ${ref}`);
    }
    const key = `${channel.link.where}\u0000${channel.manager}\u0000${ref}`;
    return this.finished.get(key) ?? this.finished.remember(key, this.completed(ref, status, null));
  }

  /** Pulsar publishes `complete` after postprocessing, so everything it POSTed is in the spool by now. */
  private async completed(
    ref: RemoteRef,
    status: PulsarStatus,
    delivery: { progress?: DeliveryProgress } | null,
  ): Promise<RemoteStatus> {
    const spooled: PulsarStatus = {
      ...status,
      outputs: await this.reader.outputs(ref),
      metadata: (await this.reader.hasPlan(ref)) ? new Set([PLAN_NAME]) : new Set(),
    };
    // completedOutcome reads through the two methods SpoolReader provides (see FinishedJobReader).
    const reader: FinishedJobReader = this.reader;
    return completedOutcome(reader as PulsarJobs, ref, spooled, this.outcomeOptions, delivery);
  }

  /**
   * Delivers from the spool alone, without asking Pulsar: the job was complete when its status said so, and
   * the spool is shared by every replica, so any of them may deliver what another received.
   */
  async deliver(_site: AdapterSite, ref: RemoteRef, progress?: DeliveryProgress): Promise<RemoteStatus> {
    const status: PulsarStatus = {
      status: 'complete',
      complete: true,
      returncode: null,
      jobStdout: '',
      jobStderr: '',
      outputs: new Set(),
      metadata: new Set(),
    };
    return this.completed(ref, status, { progress });
  }

  /** A job with a kill pending: done once final, else the kill is sent again (Pulsar may have ignored it). */
  private followKill(channel: ManagerChannel, ref: RemoteRef, status: PulsarJobStatus): void {
    if (FINAL_STATUSES.has(status)) {
      channel.cancelPending.delete(ref);
      return;
    }
    channel.link.publish(channel.queue('kill'), { job_id: ref }).catch(() => undefined);
  }

  /**
   * Sends the kill and asks for the status until the job is final, re-sending the kill meanwhile: Pulsar ignores
   * a kill while it stages the inputs (pulsar/managers/unqueued.py `_get_pid_for_killing_or_cancel` finds no pid)
   * and launches the job afterwards, and publishes nothing after a kill. Bounded by `cancelWaitMs`; a job still
   * unfinished then is `unreachable`, so dispatch retries the cancel, and status() keeps re-sending the kill.
   */
  async cancel(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const channel = this.channel(site);
    await channel.listen();
    // A `lost` job whose setup message may still be queued is not gone: it may launch after the kill.
    const sent = this.submitted.get(ref);
    const mayStillArrive = () => sent !== undefined && Date.now() - sent < this.submitGraceMs;
    channel.pendCancel(ref);
    const deadline = Date.now() + this.cancelWaitMs;
    let last: PulsarJobStatus | undefined;
    for (;;) {
      await channel.link.publish(channel.queue('kill'), { job_id: ref });
      channel.heard.delete(ref);
      const wait = Math.max(100, Math.min(this.answerWaitMs, deadline - Date.now()));
      const answered = await channel.ask([ref], wait, site.requestGate);
      const heard = channel.heard.get(ref);
      if (heard && answered.has(ref)) {
        last = heard.status.status;
        if (FINAL_STATUSES.has(last) && !(last === 'lost' && mayStillArrive())) {
          channel.cancelPending.delete(ref);
          this.submitted.delete(ref);
          return;
        }
      }
      if (Date.now() >= deadline) break;
      await delay(CANCEL_POLL_MS);
    }
    if (last === undefined) {
      throw new AdapterError(
        'unreachable',
        `Pulsar did not answer a status request for job ${ref} after the kill`,
      );
    }
    throw new AdapterError(
      'unreachable',
      last === 'preprocessing'
        ? 'kill not yet effective: Pulsar is still staging inputs'
        : last === 'lost'
          ? 'kill not yet effective: Pulsar has not yet taken the job from its queue'
          : `kill not yet effective: Pulsar still reports the job ${last}`,
    );
  }

  /**
   * Removes the spool (what Pulsar posted, what we staged), leaving a tombstone so a late upload is refused.
   * Pulsar itself never deletes a job directory in message-queue mode (only the REST `clean` route does): the
   * job script removes its staged inputs and scratch after collecting the outputs, and operators purge the
   * rest of Pulsar's staging directory (docs/providers.md).
   */
  async cleanup(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const channel = this.channel(site);
    await this.files.remove(ref);
    channel.heard.delete(ref);
    channel.cancelPending.delete(ref);
    this.submitted.delete(ref);
    this.finished.forget(`${channel.link.where}\u0000${channel.manager}\u0000${ref}`);
  }

  /** Closes every connection (tests, shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const links = [...this.links.values()];
    this.links.clear();
    this.managers.clear();
    await Promise.all(links.map((link) => link.close()));
  }
}
