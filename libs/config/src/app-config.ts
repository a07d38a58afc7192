export const POLICIES = ['ect', 'random', 'round-robin', 'least-loaded', 'locality', 'tpv-broker'] as const;
export type PolicyName = (typeof POLICIES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** The broker's whole configuration, read once from the environment at start-up. */
export interface AppConfig {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  amqpUrl: string | undefined;
  logLevel: LogLevel;
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
  policy: PolicyName;
  maxAttempts: number;
  maxPreemptions: number;
  maxQueueSeconds: number;
  leaseSeconds: number;
  /** Seconds between health probes of a site; 0 turns the probe timer off. */
  probeSeconds: number;
  probeFailures: number;
  /** Seconds between dispatch rounds (place, submit, track, cancel); 0 turns the dispatch timer off. */
  dispatchSeconds: number;
  /** Seconds between two status checks of one task at its site. */
  trackSeconds: number;
  amqpReconcileSeconds: number;
  fileRoots: string[];
  rateLimit: RateLimit;
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
