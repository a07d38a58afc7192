import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import proxyAddr from '@fastify/proxy-addr';
import {
  AppConfig,
  JobFilesS3Config,
  LOG_FORMATS,
  LOG_LEVELS,
  LogFormat,
  LogLevel,
  RateLimit,
} from './app-config';
import { ConfigError } from './config-error';
import {
  DEFAULT_TAKE_BACK,
  POLICY_NAMES,
  PolicyName,
  TAKE_BACK_LOOK_S,
  TakeBackSettings,
} from '@constellation/scheduler';

type Env = Record<string, string | undefined>;

/** Each worker holds up to 20 database connections; PostgreSQL allows 100 by default. */
const MAX_WORKERS = 4;

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const WINDOWS: Record<string, number> = {
  s: 1000,
  second: 1000,
  m: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

/** An integer with no default: unset (or empty) means "not configured". */
function optionalInteger(env: Env, name: string, min: number, max: number): number | undefined {
  return read(env, name) === undefined ? undefined : integer(env, name, 0, min, max);
}

/** Seconds with an optional fraction (tests and small deployments poll faster than once a second). */
function seconds(env: Env, name: string, fallback: number, min: number, max: number, off = false): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (off && /^0+(\.0+)?$/.test(raw)) return 0;
  if (!/^\d+(\.\d{1,3})?$/.test(raw) || value < min || value > max) {
    const zero = off ? ', or 0 for off' : '';
    throw new ConfigError(name, `a number of seconds from ${min} to ${max} (up to three decimals)${zero}`);
  }
  return value;
}

/** true/false (also 1/0, yes/no, on/off). */
function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(name, 'true or false');
}

/** A decimal number from `min` to `max` (up to three decimals). */
function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d{1,3})?$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `a number from ${min} to ${max} (up to three decimals)`);
  }
  return value;
}

/**
 * The take-back rule's settings (docs/dispatch.md, "Taking back a task stuck in a site queue"); its defaults
 * are the simulator's, the setting measured best there. Null when switched off.
 */
/** The window is checked even while the price is off: a wrong value fails the start, not a later switch-on. */
function localityPrice(env: Env): { windowSeconds: number } | null {
  const windowSeconds = decimal(env, 'CONSTELLATION_LOCALITY_WINDOW_HOURS', 3, 0.25, 48) * 3600;
  return flag(env, 'CONSTELLATION_LOCALITY_PRICE', false) ? { windowSeconds } : null;
}

function takeBack(env: Env): TakeBackSettings | null {
  if (!flag(env, 'CONSTELLATION_TAKE_BACK', true)) return null;
  return {
    // Below 1 a task would be judged before the wait placement itself expected had passed.
    factor: decimal(env, 'CONSTELLATION_TAKE_BACK_FACTOR', DEFAULT_TAKE_BACK.factor, 1, 100),
    floorS: integer(env, 'CONSTELLATION_TAKE_BACK_FLOOR_SECONDS', DEFAULT_TAKE_BACK.floorS, 1, 7 * 86400),
    marginS: integer(env, 'CONSTELLATION_TAKE_BACK_MARGIN_SECONDS', DEFAULT_TAKE_BACK.marginS, 0, 86400),
    maxTakeBacks: integer(env, 'CONSTELLATION_TAKE_BACK_MAX', DEFAULT_TAKE_BACK.maxTakeBacks, 1, 100),
  };
}

function requestRate(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d{1,3})?$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `requests per second, a number from ${min} to ${max} (up to three decimals)`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase() as T;
  if (!allowed.includes(lower)) throw new ConfigError(name, `one of ${allowed.join(', ')}`);
  return lower;
}

function url(env: Env, name: string, protocols: string[], form: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, form);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, form);
  return raw;
}

/** A size in bytes, written with an optional unit (`10mb`, `512kb`, `1048576`); at least `min` bytes. */
function size(env: Env, name: string, fallback: string, min: number, minText: string): number {
  const raw = read(env, name) ?? fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(raw);
  if (!m) throw new ConfigError(name, 'a size such as 10mb, 512kb or 1048576');
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]);
  if (bytes < min) throw new ConfigError(name, `at least ${minText}`);
  return bytes;
}

/** Server processes: a count, or `auto` for one per CPU the machine offers this process. */
function workers(env: Env): number {
  const raw = read(env, 'CONSTELLATION_WORKERS');
  if (raw === undefined) return 1;
  if (raw.toLowerCase() === 'auto') return Math.min(MAX_WORKERS, availableParallelism());
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_WORKERS) {
    throw new ConfigError('CONSTELLATION_WORKERS', `an integer from 1 to ${MAX_WORKERS}, or auto`);
  }
  return Number(raw);
}

function rateLimit(env: Env): RateLimit {
  const raw = read(env, 'CONSTELLATION_RATE_LIMIT') ?? '60000/minute';
  const m = /^(\d+)\s*(?:(?:\/|per)\s*(s|second|m|minute|h|hour))?$/i.exec(raw);
  if (!m || Number(m[1]) < 1) {
    throw new ConfigError(
      'CONSTELLATION_RATE_LIMIT',
      'a request count per window such as 6000/minute, 100/second or 6000',
    );
  }
  return { limit: Number(m[1]), windowMs: WINDOWS[(m[2] ?? 'minute').toLowerCase()] };
}

/**
 * The proxies whose X-Forwarded-For is believed. Checked with the parser Fastify's trustProxy itself uses,
 * so that whatever passes here is read the same way there.
 */
function trustedProxies(env: Env): string[] {
  const raw = read(env, 'CONSTELLATION_TRUSTED_PROXIES');
  if (raw === undefined) return [];
  const entries = raw.split(',').map((e) => e.trim());
  try {
    if (entries.includes('')) throw new Error('empty entry');
    proxyAddr.compile(entries);
  } catch {
    throw new ConfigError(
      'CONSTELLATION_TRUSTED_PROXIES',
      'a comma-separated list of IP addresses or CIDRs (10.0.0.0/8, 2001:db8::/32), or loopback, linklocal, uniquelocal',
    );
  }
  return entries;
}

function host(env: Env): string {
  const raw = read(env, 'HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(raw)) throw new ConfigError('HOST', 'a host name or IP address');
  return raw;
}

const S3_VARIABLES = [
  'CONSTELLATION_JOB_FILES_S3_BUCKET',
  'CONSTELLATION_JOB_FILES_S3_ENDPOINT',
  'CONSTELLATION_JOB_FILES_S3_REGION',
  'CONSTELLATION_JOB_FILES_S3_PREFIX',
  'CONSTELLATION_JOB_FILES_S3_FORCE_PATH_STYLE',
  'CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID',
  'CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY',
  'CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS',
  'CONSTELLATION_JOB_FILES_RECHECK_SECONDS',
];

/** The bucket for job files, or undefined (PostgreSQL keeps them). */
function jobFilesS3(env: Env): JobFilesS3Config | undefined {
  const bucket = read(env, 'CONSTELLATION_JOB_FILES_S3_BUCKET');
  if (bucket === undefined) {
    const stray = S3_VARIABLES.find((name) => read(env, name) !== undefined);
    if (stray !== undefined) {
      throw new ConfigError(
        'CONSTELLATION_JOB_FILES_S3_BUCKET',
        `set when ${stray} is set (the bucket is what turns the S3 store on)`,
      );
    }
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      'CONSTELLATION_JOB_FILES_S3_BUCKET',
      'a bucket name: 3 to 63 lowercase letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit',
    );
  }
  const endpoint = url(
    env,
    'CONSTELLATION_JOB_FILES_S3_ENDPOINT',
    ['http:', 'https:'],
    'an http:// or https:// URL',
  );
  // The SDK's own variables, so a deployment already set up for AWS needs nothing more.
  const region =
    read(env, 'CONSTELLATION_JOB_FILES_S3_REGION') ??
    read(env, 'AWS_REGION') ??
    read(env, 'AWS_DEFAULT_REGION') ??
    'us-east-1';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(region)) {
    throw new ConfigError(
      'CONSTELLATION_JOB_FILES_S3_REGION',
      'a region name such as us-east-1 (letters, digits, - and _)',
    );
  }
  const prefix = read(env, 'CONSTELLATION_JOB_FILES_S3_PREFIX') ?? 'job-files/';
  // eslint-disable-next-line no-control-regex
  if (prefix.length > 512 || /[\u0000-\u001f\u007f\\]/.test(prefix) || prefix.startsWith('/')) {
    throw new ConfigError(
      'CONSTELLATION_JOB_FILES_S3_PREFIX',
      'an object key prefix of at most 512 characters, not starting with /, without control characters or backslashes',
    );
  }
  const accessKeyId = read(env, 'CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID');
  const secretAccessKey = read(env, 'CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(
      accessKeyId === undefined
        ? 'CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID'
        : 'CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY',
      'set together with the other of CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID and _SECRET_ACCESS_KEY, or neither (the AWS SDK then finds credentials itself)',
    );
  }
  return {
    bucket,
    endpoint,
    region,
    prefix,
    // MinIO and Ceph are usually reached by path: a bucket as a host name needs wildcard DNS and certificates.
    forcePathStyle: flag(env, 'CONSTELLATION_JOB_FILES_S3_FORCE_PATH_STYLE', endpoint !== undefined),
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
    // A store far away may need longer than 10 s for its first write; a start-up must not wait for ever.
    checkTimeoutSeconds: seconds(env, 'CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS', 10, 0.1, 300),
    // Readiness probes every few seconds must not each hold a connection to a store that is down.
    recheckSeconds: seconds(env, 'CONSTELLATION_JOB_FILES_RECHECK_SECONDS', 5, 0, 3600, true),
  };
}

/** Reads and validates every variable of ARCHITECTURE.md's table; throws ConfigError on the first bad one. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const listenHost = host(env);
  const databaseUrl = url(
    env,
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'a postgres:// or postgresql:// URL',
  );
  const amqpUrl = url(env, 'AMQP_URL', ['amqp:', 'amqps:'], 'an amqp:// or amqps:// URL');
  const publicHost = listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost;
  const publicUrl =
    url(env, 'CONSTELLATION_PUBLIC_URL', ['http:', 'https:'], 'an http:// or https:// URL') ??
    `http://${publicHost === '0.0.0.0' ? '127.0.0.1' : publicHost}:${port}`;
  const adminToken = read(env, 'CONSTELLATION_ADMIN_TOKEN');
  if (adminToken !== undefined && !/^[A-Za-z0-9_-]{32,256}$/.test(adminToken)) {
    throw new ConfigError('CONSTELLATION_ADMIN_TOKEN', '32 to 256 URL-safe characters (A-Z a-z 0-9 _ -)');
  }
  const secretKey = read(env, 'CONSTELLATION_SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < 32) {
    throw new ConfigError(
      'CONSTELLATION_SECRET_KEY',
      'at least 32 characters (for example 32 random bytes in hex)',
    );
  }
  if (databaseUrl !== undefined && secretKey === undefined) {
    throw new ConfigError(
      'CONSTELLATION_SECRET_KEY',
      'set when DATABASE_URL is set, identical on every replica (for example: openssl rand -hex 32)',
    );
  }
  const fileRoots = (read(env, 'CONSTELLATION_FILE_ROOTS') ?? '').split(':').filter((p) => p !== '');
  for (const root of fileRoots) {
    if (!path.isAbsolute(root))
      throw new ConfigError('CONSTELLATION_FILE_ROOTS', 'a colon-separated list of absolute paths');
  }
  const orgUrl =
    url(env, 'CONSTELLATION_ORG_URL', ['http:', 'https:'], 'an http:// or https:// URL') ??
    'https://github.com/constellation-broker/constellation';

  const config: AppConfig = {
    port,
    host: listenHost,
    databaseUrl,
    amqpUrl,
    logLevel: oneOf<LogLevel>(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: oneOf<LogFormat>(env, 'LOG_FORMAT', LOG_FORMATS, 'auto'),
    dataDir: path.resolve(cwd, read(env, 'CONSTELLATION_DATA_DIR') ?? '.constellation'),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    adminToken,
    secretKey,
    bodyLimitBytes: size(env, 'CONSTELLATION_BODY_LIMIT', '10mb', 1024, '1kb'),
    // Under the default body limit, so a task carrying a few MiB of scripts and small files still fits.
    maxInlineBytesPerTask: size(env, 'CONSTELLATION_MAX_INLINE_BYTES_PER_TASK', '8mb', 0, '0'),
    maxQueuedInlineBytes: size(env, 'CONSTELLATION_MAX_QUEUED_INLINE_BYTES', '1gb', 0, '0'),
    // A page's text is built whole by PostgreSQL and held whole by the broker: this bounds both.
    listPageBytes: size(env, 'CONSTELLATION_LIST_PAGE_BYTES', '16mb', 64 * 1024, '64kb'),
    pageSizeDefault: integer(env, 'CONSTELLATION_PAGE_SIZE_DEFAULT', 256, 1, 2047),
    eventStreams: integer(env, 'CONSTELLATION_EVENT_STREAMS', 1000, 1, 100_000),
    eventStreamsPerPrincipal: integer(env, 'CONSTELLATION_EVENT_STREAMS_PER_PRINCIPAL', 10, 1, 10_000),
    eventHeartbeatSeconds: seconds(env, 'CONSTELLATION_EVENT_HEARTBEAT_SECONDS', 15, 0.05, 300),
    // A revoked token's stream ends within this: each reconnection is authenticated afresh.
    eventStreamMaxSeconds: seconds(env, 'CONSTELLATION_EVENT_STREAM_MAX_SECONDS', 3600, 1, 86400),
    policy: oneOf<PolicyName>(env, 'CONSTELLATION_POLICY', POLICY_NAMES, 'ect'),
    maxAttempts: integer(env, 'CONSTELLATION_MAX_ATTEMPTS', 3, 1, 100),
    maxPreemptions: integer(env, 'CONSTELLATION_MAX_PREEMPTIONS', 5, 0, 1000),
    takeBack: takeBack(env),
    // The simulator's: a task judged and kept is judged again a minute later.
    takeBackLookSeconds: seconds(env, 'CONSTELLATION_TAKE_BACK_LOOK_SECONDS', TAKE_BACK_LOOK_S, 0.05, 86400),
    // Off by default: it trades turnaround for WAN bytes (docs/scheduling.md).
    localityPrice: localityPrice(env),
    maxQueueSeconds: integer(env, 'CONSTELLATION_MAX_QUEUE_SECONDS', 86400, 1, 365 * 86400),
    leaseSeconds: integer(env, 'CONSTELLATION_LEASE_SECONDS', 30, 1, 3600),
    // 0 turns the probe timer off (tests drive probes directly; an operator can pause probing).
    probeSeconds: integer(env, 'CONSTELLATION_PROBE_SECONDS', 30, 0, 86400),
    // 0 turns the dispatch timer off (tests drive the rounds directly).
    dispatchSeconds: seconds(env, 'CONSTELLATION_DISPATCH_SECONDS', 1, 0.05, 60, true),
    trackSeconds: seconds(env, 'CONSTELLATION_TRACK_SECONDS', 5, 0.05, 3600),
    sizeBudgetSeconds: seconds(env, 'CONSTELLATION_SIZE_BUDGET_SECONDS', 0.25, 0, 10, true),
    sizeHeadTimeoutSeconds: seconds(env, 'CONSTELLATION_SIZE_HEAD_TIMEOUT_SECONDS', 5, 0.05, 300),
    // 0 turns HEAD sizing off: every input then counts at the learned or the default size.
    sizeHeadConcurrency: integer(env, 'CONSTELLATION_SIZE_HEAD_CONCURRENCY', 8, 0, 256),
    sizeCacheEntries: integer(env, 'CONSTELLATION_SIZE_CACHE_ENTRIES', 100_000, 1, 10_000_000),
    sizeCacheSeconds: integer(env, 'CONSTELLATION_SIZE_CACHE_SECONDS', 86400, 1, 30 * 86400),
    submitDoubtSeconds: seconds(env, 'CONSTELLATION_SUBMIT_DOUBT_SECONDS', 120, 1, 86400),
    probeFailures: integer(env, 'CONSTELLATION_PROBE_FAILURES', 3, 1, 1000),
    // Pending sites are probed so their health is known before approval; not as often as working ones.
    pendingProbeSeconds: integer(env, 'CONSTELLATION_PENDING_PROBE_SECONDS', 300, 1, 86400),
    selfTestRunSeconds: integer(env, 'CONSTELLATION_SELF_TEST_RUN_SECONDS', 300, 1, 3600),
    requireSelfTestForApproval: flag(env, 'CONSTELLATION_REQUIRE_SELF_TEST_FOR_APPROVAL', false),
    amqpReconcileSeconds: integer(env, 'CONSTELLATION_AMQP_RECONCILE_SECONDS', 300, 1, 86400),
    deliveryTries: integer(env, 'CONSTELLATION_DELIVERY_TRIES', 5, 1, 100),
    deliveryRetrySeconds: seconds(env, 'CONSTELLATION_DELIVERY_RETRY_SECONDS', 30, 0.05, 3600),
    siteRequestsPerSecond: requestRate(env, 'CONSTELLATION_SITE_REQUESTS_PER_SECOND', 20, 0.1, 100000),
    fileRoots,
    jobFilesS3: jobFilesS3(env),
    retentionDays: optionalInteger(env, 'CONSTELLATION_RETENTION_DAYS', 1, 36500),
    rateLimit: rateLimit(env),
    trustedProxies: trustedProxies(env),
    workers: workers(env),
    orgName: read(env, 'CONSTELLATION_ORG_NAME') ?? 'Constellation',
    orgUrl,
    serviceVersion: readPackageVersion(),
    environment: read(env, 'NODE_ENV') ?? 'production',
  };
  return Object.freeze(config);
}

function readPackageVersion(): string {
  try {
    return (require(path.join(__dirname, '..', '..', '..', 'package.json')) as { version: string }).version;
  } catch {
    try {
      return (require(path.join(__dirname, '..', '..', '..', '..', 'package.json')) as { version: string })
        .version;
    } catch {
      return '0.0.0';
    }
  }
}
