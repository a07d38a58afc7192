import type { PolicyName, TakeBackSettings } from '@constellation/scheduler';

// The policy names are the scheduler's own (one list); config only validates the choice.
export type { PolicyName };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: readable lines when standard output is a terminal, JSON (one object a line) otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** An S3-compatible bucket for the bytes of job files (CONSTELLATION_JOB_FILES_S3_*). */
export interface JobFilesS3Config {
  bucket: string;
  /** MinIO, Ceph or another S3-compatible store; undefined: AWS S3 in `region`. */
  endpoint: string | undefined;
  region: string;
  /** Put before every object key. */
  prefix: string;
  forcePathStyle: boolean;
  /** Undefined: the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, web identity, instance role). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS: bound on the start-up check (its write and delete, retries included). */
  checkTimeoutSeconds: number;
  /**
   * CONSTELLATION_JOB_FILES_RECHECK_SECONDS: while the check fails, how long /health/ready answers the last
   * failure before the bucket is checked again; 0 checks at every readiness probe.
   */
  recheckSeconds: number;
}

/** The broker's whole configuration, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  amqpUrl: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  dataDir: string;
  publicUrl: string;
  adminToken: string | undefined;
  secretKey: string | undefined;
  bodyLimitBytes: number;
  pageSizeDefault: number;
  /** Bytes (UTF-8) of `inputs[].content` one task may carry. */
  maxInlineBytesPerTask: number;
  /** Bytes of `inputs[].content` one submitter's unfinished tasks may hold together. */
  maxQueuedInlineBytes: number;
  /** A FULL list page stops before the task that would take its estimated JSON size past this. */
  listPageBytes: number;
  /** Server-sent event streams (GET /api/v1/events/stream) one replica keeps open at most. */
  eventStreams: number;
  /** Of those, one principal's at most. */
  eventStreamsPerPrincipal: number;
  /** Seconds between heartbeats on an idle stream. */
  eventHeartbeatSeconds: number;
  /** A stream is closed after this many seconds (the client reconnects, authenticating again). */
  eventStreamMaxSeconds: number;
  policy: PolicyName;
  maxAttempts: number;
  maxPreemptions: number;
  /**
   * Taking back a task its site still holds queued far beyond the wait placement expected (docs/dispatch.md);
   * null when CONSTELLATION_TAKE_BACK is off.
   */
  takeBack: TakeBackSettings | null;
  /** Seconds before a task judged and kept at its site is judged again. */
  takeBackLookSeconds: number;
  /**
   * Locality price (docs/scheduling.md): a site local to a data store keeps its cores for the tasks that save
   * the most input bytes per core-second there, judged over this window of recent placements; null when
   * CONSTELLATION_LOCALITY_PRICE is off.
   */
  localityPrice: { windowSeconds: number } | null;
  maxQueueSeconds: number;
  leaseSeconds: number;
  /** Seconds between health probes of a site; 0 turns the probe timer off. */
  probeSeconds: number;
  probeFailures: number;
  /** Seconds between health probes of a pending site (not yet approved); the probe timer itself is probeSeconds. */
  pendingProbeSeconds: number;
  /** How long one self-test job may take to run at a site (image pulls included) before the step fails. */
  selfTestRunSeconds: number;
  /** Approval refuses a site whose last self-test did not pass (or that has none). */
  requireSelfTestForApproval: boolean;
  /** Seconds between dispatch rounds (place, submit, track, cancel); 0 turns the dispatch timer off. */
  dispatchSeconds: number;
  /**
   * Longest time between two status checks of one task at its site: checks start 0.5 s after submission and
   * back off, doubling, up to this.
   */
  trackSeconds: number;
  /** Longest a placement round waits for the HEAD sizes it asked for; the rest finish in the background. */
  sizeBudgetSeconds: number;
  /** Longest one HEAD of an input URL may take. */
  sizeHeadTimeoutSeconds: number;
  /** Most HEAD requests in flight at once; 0 turns HEAD sizing off. */
  sizeHeadConcurrency: number;
  /** Most input URLs whose size (or failed lookup) the broker remembers. */
  sizeCacheEntries: number;
  /** How long a size learned by HEAD is trusted. */
  sizeCacheSeconds: number;
  /**
   * After a submission whose answer never came, how long the broker keeps looking for the copy the site may
   * have made before it sends the attempt again (a slow site's create can land long after our timeout).
   */
  submitDoubtSeconds: number;
  /** Silence about a Pulsar AMQP job before a status request; also the interval of their reconciliation. */
  amqpReconcileSeconds: number;
  /** Tries of one attempt's output delivery before the task fails naming the destination (the job never reruns). */
  deliveryTries: number;
  /** Seconds before the first retry of a failed delivery; each further retry waits twice as long (up to an hour). */
  deliveryRetrySeconds: number;
  /**
   * Status requests the broker sends one site per second, at most, all replicas together (bursts up to a
   * second's worth; shared through site_request_budget): paces sites asked per task (Pulsar REST) and the
   * reconciliation of sites that push (Pulsar AMQP).
   */
  siteRequestsPerSecond: number;
  fileRoots: string[];
  /** Where the bytes of job files go when not in PostgreSQL; undefined: PostgreSQL. */
  jobFilesS3: JobFilesS3Config | undefined;
  /**
   * Days a finished task (and its events) is kept after it finished; undefined keeps finished tasks for
   * ever. The daily purge applies it.
   */
  retentionDays: number | undefined;
  rateLimit: RateLimit;
  /**
   * Addresses and CIDRs (or proxy-addr's names loopback, linklocal, uniquelocal) of the proxies whose
   * X-Forwarded-For is believed; empty: the socket's address is the client's.
   */
  trustedProxies: string[];
  /**
   * HTTP server processes (Node's cluster): each is a replica of its own, with its own pool of up to 20
   * database connections, rate-limit counters and dispatch rounds.
   */
  workers: number;
  orgName: string;
  orgUrl: string;
  serviceVersion: string;
  /** service-info `environment`, from NODE_ENV (default production). */
  environment: string;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
