import type { TaskDocument, TesExecutorLog, TesOutputFileLog, TesState } from '@constellation/tes';

export type SiteRuntime = 'docker' | 'singularity' | 'apptainer' | 'none';

/** A site as an adapter sees it: where it is, how to authenticate, nothing from the database beyond that. */
export interface AdapterSite {
  id: string;
  slug: string;
  kind: 'tes' | 'pulsar-rest' | 'pulsar-amqp';
  /** http(s) base URL for TES and Pulsar REST; amqp(s) for Pulsar AMQP (null: the broker's AMQP_URL). */
  url: string | null;
  pulsarManager: string | null;
  /**
   * The container runtimes the site offers, in its order of preference. Pulsar REST runs executors in the first
   * one present on the host; TES sites choose their own, so the TES adapter ignores this.
   */
  runtimes: SiteRuntime[];
  /**
   * Whether `none` may run the executors' commands on the host (their images unused). Without it `none` is
   * dropped from the runtimes a job script may use. Absent: false.
   */
  runImagesOnHost?: boolean;
  /** Singularity/Apptainer: where pulled `docker://` images are cached on the site's hosts. */
  imageCacheDir?: string | null;
  /** Singularity/Apptainer: a folder of unpacked images named `<name>:<tag>`, used before pulling. */
  cvmfsImageRoot?: string | null;
  /** Decrypted at the call site; adapters never log or return them. */
  credentials: { token?: string; username?: string; password?: string } | null;
  /**
   * The site's request budget, shared by every step and replica: awaited before each status request an adapter
   * sends (a job's status, whatever step asks). Absent: the caller already took from the budget for the call.
   */
  requestGate?: RequestGate;
}

/** Lets status requests to one site through within its budget. */
export interface RequestGate {
  /**
   * Resolves once `count` requests may be sent (waiting a bounded time for the budget to refill); rejects with
   * a BudgetWait when they may not be sent before then.
   */
  take(count: number): Promise<void>;
}

/** The site's own id for one submitted attempt (a TES task id, a Pulsar job id). */
export type RemoteRef = string;

export interface SubmitJob {
  taskId: string;
  /** 1 for the first placement; each failover or preemption retry adds one. */
  attempt: number;
  /** The stored, validated TES document (constellation.* backend parameters included). */
  tes: TaskDocument;
  /**
   * True only when dispatch can prove no earlier send of this attempt went out, so the site holds no copy of
   * it and submit() sends without looking for one first. Absent or false: look first (the safe side).
   */
  firstSend?: boolean;
}

export interface ProbeResult {
  ok: boolean;
  latencyMs: number | null;
  version?: string | null;
  /** Why it failed, in words without secrets. */
  error?: string;
  load?: { running: number; queued: number };
}

/** What the site says about one attempt, in TES terms. */
export interface RemoteStatus {
  state: TesState;
  /**
   * One entry per executor that started, in order; stdout/stderr are tails of at most STREAM_TAIL_BYTES. An
   * executor whose exit code the site has not reported yet (still running) has no entry until it has one.
   */
  executorLogs: TesExecutorLog[];
  startTime?: string;
  endTime?: string;
  outputs: TesOutputFileLog[];
  /** The site's own system logs (bounded), e.g. why it failed the task. */
  systemLogs: string[];
  /**
   * COMPLETE at the site, with outputs the broker itself must still move from the site to their URLs: the task
   * is not complete until deliver() has done so. Absent: nothing left to deliver.
   */
  awaitingDelivery?: boolean;
  /**
   * True when the site was asked for a view without stdout, stderr and system logs (a TES BASIC list): what
   * was stored of them before still holds, and executorLogs carry none.
   */
  streamsOmitted?: boolean;
}

/** How a delivery reports progress and is stopped. */
export interface DeliveryProgress {
  /** Called with each chunk's size as bytes flow from the site or to a destination (the caller extends its lease). */
  onBytes?: (bytes: number) => void;
  /** Aborts the delivery (the caller lost its claim, or is shutting down). */
  signal?: AbortSignal;
  /**
   * Outputs an earlier try of this delivery already wrote, by `deliveredOutputKey`: they are reported with the
   * logs given here and not read from the site or written again.
   */
  delivered?: ReadonlyMap<string, TesOutputFileLog>;
  /** Called once each output has been written, before the next is begun (the caller records it). */
  onDelivered?: (key: string, log: TesOutputFileLog) => Promise<void>;
}

/**
 * What names one output file of a delivery: its destination URL and its path in the container, as JSON text
 * (unambiguous whatever the path holds, and storable: PostgreSQL text takes no NUL).
 */
export function deliveredOutputKey(url: string, containerPath: string): string {
  return JSON.stringify([url, containerPath]);
}

/**
 * How a site tells about its tasks: `per-task` one request per task (Pulsar REST), `listed` one paged list per
 * site (TES), `pushed` status updates the site sends unasked (Pulsar AMQP), with status requests only to
 * reconcile.
 */
export type StatusMode = 'per-task' | 'listed' | 'pushed';

export interface SiteSchemes {
  /** Lowercase URL schemes the site fetches inputs from itself; '*' means any. */
  inputs: string[];
  outputs: string[];
}

/**
 * One implementation per site kind (ARCHITECTURE.md, "Adapter contract"). Every method either resolves or
 * rejects with an AdapterError; nothing else escapes. No adapter knows about the database.
 */
export interface SiteAdapter {
  readonly kind: AdapterSite['kind'];
  /**
   * True when the site names each attempt's job with the id the broker chose (Pulsar), so sending an attempt
   * again can never make a second copy; false when the site chooses ids (TES), so a submission whose answer
   * never came must be looked for before it is sent again.
   */
  readonly brokerChosenIds: boolean;
  readonly statusMode: StatusMode;
  /**
   * Where the site pushes status updates: calls `listener` with the ref of each attempt whose status changed,
   * once status() can answer with it without asking the site. Returns what stops the calls.
   */
  onStatusPushed?(listener: (ref: RemoteRef) => void): () => void;
  probe(site: AdapterSite): Promise<ProbeResult>;
  /**
   * Idempotent: asks the site whether this task's attempt already exists there (find) and returns that ref
   * instead of submitting twice; skips that question when `job.firstSend` says no copy can exist.
   */
  submit(site: AdapterSite, job: SubmitJob): Promise<RemoteRef>;
  /** The ref of this task's attempt at the site, or null when the site has none. */
  find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null>;
  /**
   * Every copy of this task's attempt the site has that was not cancelled, oldest first: one at most where
   * the broker chooses ids, possibly several on a site that chooses its own and got the attempt twice.
   */
  copies(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef[]>;
  /**
   * Batched status. Each ref maps to its status, or to an AdapterError for that ref alone (kind `lost` when
   * the site no longer knows it). A failure of the whole call (site unreachable, auth) rejects instead.
   */
  status(site: AdapterSite, refs: readonly RemoteRef[]): Promise<Map<RemoteRef, RemoteStatus | AdapterError>>;
  /** Asks the site to stop the attempt; a ref the site no longer knows counts as cancelled. */
  cancel(site: AdapterSite, ref: RemoteRef): Promise<void>;
  /** Frees what the site keeps for a finished attempt (Pulsar's job directory); a no-op where nothing is kept. */
  cleanup(site: AdapterSite, ref: RemoteRef): Promise<void>;
  /**
   * For an attempt whose status was COMPLETE with `awaitingDelivery`: downloads each output from the site and
   * writes it to its URL, and answers the final status (COMPLETE with the outputs delivered, or SYSTEM_ERROR
   * when an output cannot be delivered at all, e.g. it was not produced). Rejects with `undeliverable` when a
   * destination failed, `unreachable` when the site failed to serve a file: both may be retried alone. Status
   * checks never deliver. Absent on kinds whose sites deliver outputs themselves (TES).
   */
  deliver?(site: AdapterSite, ref: RemoteRef, progress?: DeliveryProgress): Promise<RemoteStatus>;
  schemes(site: AdapterSite): Promise<SiteSchemes>;
}

export type AdapterErrorKind =
  | 'unreachable'
  | 'rejected'
  | 'lost'
  | 'auth_failed'
  | 'protocol_error'
  /** The broker could not write an output to its destination: the site and the task are not at fault. */
  | 'undeliverable';

/** Typed failures: dispatch decides retry (unreachable), failover (rejected, lost) or alarm by kind. */
export class AdapterError extends Error {
  /**
   * True when a request that creates a copy at the site went out and no usable answer came back (a timeout,
   * a reset, a gateway's 5xx, an unreadable 2xx): the site may have made the copy anyway.
   */
  readonly inDoubt: boolean;

  constructor(
    readonly kind: AdapterErrorKind,
    message: string,
    options: { inDoubt?: boolean } = {},
  ) {
    super(message);
    this.name = 'AdapterError';
    this.inDoubt = options.inDoubt ?? false;
  }
}

/**
 * The site's request budget had no room for a request within a bounded wait: nothing was asked, nothing is
 * wrong with the site or the task. The step tries again at `retryAt` (the budget's next turn) under a new claim,
 * without counting a failure or a try.
 */
export class BudgetWait extends AdapterError {
  constructor(
    readonly retryAt: Date,
    siteSlug: string,
  ) {
    super('unreachable', `the request budget of ${siteSlug} has no room before ${retryAt.toISOString()}`);
    this.name = 'BudgetWait';
  }
}

export function isBudgetWait(err: unknown): err is BudgetWait {
  return err instanceof BudgetWait;
}

export function isAdapterError(err: unknown): err is AdapterError {
  return err instanceof AdapterError;
}

/** Longest stdout/stderr tail kept per executor (the TES document's logs are for humans, not data). */
export const STREAM_TAIL_BYTES = 64 * 1024;

/** Tags the broker adds to every task it forwards to a TES site, so a resend finds the first copy. */
export const TASK_TAG = 'constellation.task';
export const ATTEMPT_TAG = 'constellation.attempt';
