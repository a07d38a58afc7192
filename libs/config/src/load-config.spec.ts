import { availableParallelism } from 'node:os';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';

describe('loadConfig', () => {
  it('gives every variable its documented default', () => {
    const c = loadConfig({}, '/srv/constellation');
    expect({ ...c, serviceVersion: undefined }).toEqual({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      amqpUrl: undefined,
      logLevel: 'info',
      logFormat: 'auto',
      dataDir: '/srv/constellation/.constellation',
      publicUrl: 'http://127.0.0.1:8080',
      adminToken: undefined,
      secretKey: undefined,
      bodyLimitBytes: 10 * 1024 * 1024,
      pageSizeDefault: 256,
      maxInlineBytesPerTask: 8 * 1024 * 1024,
      maxQueuedInlineBytes: 1024 ** 3,
      listPageBytes: 16 * 1024 * 1024,
      eventStreams: 1000,
      eventStreamsPerPrincipal: 10,
      eventHeartbeatSeconds: 15,
      eventStreamMaxSeconds: 3600,
      policy: 'ect',
      maxAttempts: 3,
      maxPreemptions: 5,
      takeBack: { factor: 1, floorS: 120, marginS: 0, maxTakeBacks: 2 },
      takeBackLookSeconds: 60,
      localityPrice: null,
      maxQueueSeconds: 86400,
      leaseSeconds: 30,
      probeSeconds: 30,
      probeFailures: 3,
      pendingProbeSeconds: 300,
      selfTestRunSeconds: 300,
      requireSelfTestForApproval: false,
      dispatchSeconds: 1,
      trackSeconds: 5,
      submitDoubtSeconds: 120,
      sizeBudgetSeconds: 0.25,
      sizeHeadTimeoutSeconds: 5,
      sizeHeadConcurrency: 8,
      sizeCacheEntries: 100000,
      sizeCacheSeconds: 86400,
      amqpReconcileSeconds: 300,
      deliveryTries: 5,
      deliveryRetrySeconds: 30,
      siteRequestsPerSecond: 20,
      fileRoots: [],
      jobFilesS3: undefined,
      retentionDays: undefined,
      rateLimit: { limit: 60000, windowMs: 60_000 },
      trustedProxies: [],
      workers: 1,
      orgName: 'Constellation',
      orgUrl: 'https://github.com/constellation-broker/constellation',
      serviceVersion: undefined,
      environment: 'production',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads explicit values', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u@db:5432/c',
      CONSTELLATION_SECRET_KEY: 'k'.repeat(32),
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      CONSTELLATION_BODY_LIMIT: '512kb',
      CONSTELLATION_RATE_LIMIT: '100/second',
      CONSTELLATION_FILE_ROOTS: '/data:/scratch',
      CONSTELLATION_POLICY: 'Least-Loaded',
      CONSTELLATION_PUBLIC_URL: 'https://broker.example.org/',
      CONSTELLATION_DISPATCH_SECONDS: '0.25',
      CONSTELLATION_TRACK_SECONDS: '2',
      CONSTELLATION_WORKERS: '3',
      CONSTELLATION_RETENTION_DAYS: '90',
      CONSTELLATION_MAX_INLINE_BYTES_PER_TASK: '2mb',
      CONSTELLATION_MAX_QUEUED_INLINE_BYTES: '0',
      CONSTELLATION_LIST_PAGE_BYTES: '1.5mb',
    });
    expect(c.maxInlineBytesPerTask).toBe(2 * 1024 * 1024);
    expect(c.maxQueuedInlineBytes).toBe(0);
    expect(c.listPageBytes).toBe(1.5 * 1024 * 1024);
    expect(c.workers).toBe(3);
    expect(c.retentionDays).toBe(90);
    expect(c.dispatchSeconds).toBe(0.25);
    expect(c.trackSeconds).toBe(2);
    expect(c.port).toBe(9000);
    expect(c.publicUrl).toBe('https://broker.example.org');
    expect(c.bodyLimitBytes).toBe(512 * 1024);
    expect(c.rateLimit).toEqual({ limit: 100, windowMs: 1000 });
    expect(c.fileRoots).toEqual(['/data', '/scratch']);
    expect(c.policy).toBe('least-loaded');
  });

  it('reads CONSTELLATION_TRUSTED_PROXIES as addresses and CIDRs, IPv4 and IPv6', () => {
    const c = loadConfig({
      CONSTELLATION_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,::1, loopback',
    });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1', 'loopback']);
  });

  it('reads the take-back settings, and turns the step off without reading them', () => {
    const on = loadConfig({
      CONSTELLATION_TAKE_BACK_FACTOR: '1.5',
      CONSTELLATION_TAKE_BACK_FLOOR_SECONDS: '300',
      CONSTELLATION_TAKE_BACK_MARGIN_SECONDS: '60',
      CONSTELLATION_TAKE_BACK_MAX: '3',
    });
    expect(on.takeBack).toEqual({ factor: 1.5, floorS: 300, marginS: 60, maxTakeBacks: 3 });
    expect(loadConfig({ CONSTELLATION_TAKE_BACK: 'off' }).takeBack).toBeNull();
    expect(loadConfig({ CONSTELLATION_LOCALITY_PRICE: 'on' }).localityPrice).toEqual({
      windowSeconds: 3 * 3600,
    });
    expect(
      loadConfig({ CONSTELLATION_LOCALITY_PRICE: 'true', CONSTELLATION_LOCALITY_WINDOW_HOURS: '0.5' })
        .localityPrice,
    ).toEqual({ windowSeconds: 1800 });
    expect(() => loadConfig({ CONSTELLATION_LOCALITY_PRICE: 'sometimes' })).toThrow(
      'CONSTELLATION_LOCALITY_PRICE',
    );
    expect(() =>
      loadConfig({ CONSTELLATION_LOCALITY_PRICE: 'on', CONSTELLATION_LOCALITY_WINDOW_HOURS: '0.1' }),
    ).toThrow('CONSTELLATION_LOCALITY_WINDOW_HOURS');
    expect(() => loadConfig({ CONSTELLATION_LOCALITY_WINDOW_HOURS: 'three' })).toThrow(
      'CONSTELLATION_LOCALITY_WINDOW_HOURS',
    );
  });

  it('gives one worker per CPU, at most four, for CONSTELLATION_WORKERS=auto', () => {
    const c = loadConfig({ CONSTELLATION_WORKERS: 'AUTO' });
    expect(c.workers).toBe(Math.min(4, availableParallelism()));
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535'],
    [{ DATABASE_URL: 'not-a-url' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    [{ DATABASE_URL: 'postgres://h/db' }, 'CONSTELLATION_SECRET_KEY must be set when DATABASE_URL is set'],
    [{ CONSTELLATION_SECRET_KEY: 'short' }, 'CONSTELLATION_SECRET_KEY must be at least 32 characters'],
    [{ AMQP_URL: 'http://x' }, 'AMQP_URL must be an amqp:// or amqps:// URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    [{ CONSTELLATION_BODY_LIMIT: 'ten' }, 'CONSTELLATION_BODY_LIMIT must be a size such as 10mb'],
    [
      { CONSTELLATION_MAX_INLINE_BYTES_PER_TASK: '-1' },
      'CONSTELLATION_MAX_INLINE_BYTES_PER_TASK must be a size such as 10mb',
    ],
    [
      { CONSTELLATION_MAX_QUEUED_INLINE_BYTES: '1 TB' },
      'CONSTELLATION_MAX_QUEUED_INLINE_BYTES must be a size such as 10mb',
    ],
    [{ CONSTELLATION_LIST_PAGE_BYTES: '1kb' }, 'CONSTELLATION_LIST_PAGE_BYTES must be at least 64kb'],
    [
      { CONSTELLATION_PAGE_SIZE_DEFAULT: '2048' },
      'CONSTELLATION_PAGE_SIZE_DEFAULT must be an integer from 1 to 2047',
    ],
    [{ CONSTELLATION_EVENT_STREAMS: '0' }, 'CONSTELLATION_EVENT_STREAMS must be an integer from 1 to 100000'],
    [
      { CONSTELLATION_EVENT_STREAMS_PER_PRINCIPAL: 'many' },
      'CONSTELLATION_EVENT_STREAMS_PER_PRINCIPAL must be an integer from 1 to 10000',
    ],
    [
      { CONSTELLATION_EVENT_HEARTBEAT_SECONDS: '0' },
      'CONSTELLATION_EVENT_HEARTBEAT_SECONDS must be a number of seconds from 0.05 to 300',
    ],
    [
      { CONSTELLATION_EVENT_STREAM_MAX_SECONDS: '1h' },
      'CONSTELLATION_EVENT_STREAM_MAX_SECONDS must be a number of seconds from 1 to 86400',
    ],
    [{ CONSTELLATION_POLICY: 'fastest' }, 'CONSTELLATION_POLICY must be one of ect'],
    [
      { CONSTELLATION_SIZE_BUDGET_SECONDS: '11' },
      'CONSTELLATION_SIZE_BUDGET_SECONDS must be a number of seconds from 0 to 10',
    ],
    [
      { CONSTELLATION_SIZE_HEAD_CONCURRENCY: 'many' },
      'CONSTELLATION_SIZE_HEAD_CONCURRENCY must be an integer from 0 to 256',
    ],
    [
      { CONSTELLATION_SIZE_CACHE_ENTRIES: '0' },
      'CONSTELLATION_SIZE_CACHE_ENTRIES must be an integer from 1 to 10000000',
    ],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT must be one of auto, json, pretty'],
    [{ CONSTELLATION_TAKE_BACK: 'sometimes' }, 'CONSTELLATION_TAKE_BACK must be true or false'],
    [
      { CONSTELLATION_TAKE_BACK_FACTOR: '0.5' },
      'CONSTELLATION_TAKE_BACK_FACTOR must be a number from 1 to 100 (up to three decimals)',
    ],
    [
      { CONSTELLATION_TAKE_BACK_FLOOR_SECONDS: '0' },
      'CONSTELLATION_TAKE_BACK_FLOOR_SECONDS must be an integer from 1 to 604800',
    ],
    [
      { CONSTELLATION_TAKE_BACK_MARGIN_SECONDS: '-5' },
      'CONSTELLATION_TAKE_BACK_MARGIN_SECONDS must be an integer from 0 to 86400',
    ],
    [{ CONSTELLATION_TAKE_BACK_MAX: '0' }, 'CONSTELLATION_TAKE_BACK_MAX must be an integer from 1 to 100'],
    [
      { CONSTELLATION_TAKE_BACK_LOOK_SECONDS: '0' },
      'CONSTELLATION_TAKE_BACK_LOOK_SECONDS must be a number of seconds from 0.05 to 86400',
    ],
    [
      { CONSTELLATION_DISPATCH_SECONDS: '0.001' },
      'CONSTELLATION_DISPATCH_SECONDS must be a number of seconds from 0.05 to 60 (up to three decimals), or 0 for off',
    ],
    [
      { CONSTELLATION_TRACK_SECONDS: '0' },
      'CONSTELLATION_TRACK_SECONDS must be a number of seconds from 0.05 to 3600',
    ],
    [
      { CONSTELLATION_SITE_REQUESTS_PER_SECOND: '0' },
      'CONSTELLATION_SITE_REQUESTS_PER_SECOND must be requests per second, a number from 0.1 to 100000',
    ],
    [
      { CONSTELLATION_SITE_REQUESTS_PER_SECOND: 'lots' },
      'CONSTELLATION_SITE_REQUESTS_PER_SECOND must be requests per second, a number from 0.1 to 100000',
    ],
    [
      { CONSTELLATION_SUBMIT_DOUBT_SECONDS: '0.5' },
      'CONSTELLATION_SUBMIT_DOUBT_SECONDS must be a number of seconds from 1 to 86400',
    ],
    [{ CONSTELLATION_MAX_ATTEMPTS: '0' }, 'CONSTELLATION_MAX_ATTEMPTS must be an integer from 1 to 100'],
    [{ CONSTELLATION_DELIVERY_TRIES: '0' }, 'CONSTELLATION_DELIVERY_TRIES must be an integer from 1 to 100'],
    [
      { CONSTELLATION_DELIVERY_RETRY_SECONDS: 'soon' },
      'CONSTELLATION_DELIVERY_RETRY_SECONDS must be a number of seconds from 0.05 to 3600',
    ],
    [
      { CONSTELLATION_FILE_ROOTS: 'relative/path' },
      'CONSTELLATION_FILE_ROOTS must be a colon-separated list of absolute paths',
    ],
    [{ CONSTELLATION_RATE_LIMIT: 'lots' }, 'CONSTELLATION_RATE_LIMIT must be a request count per window'],
    [{ CONSTELLATION_WORKERS: '0' }, 'CONSTELLATION_WORKERS must be an integer from 1 to 4, or auto'],
    [{ CONSTELLATION_WORKERS: '16' }, 'CONSTELLATION_WORKERS must be an integer from 1 to 4, or auto'],
    [
      { CONSTELLATION_ADMIN_TOKEN: 'has spaces in it' },
      'CONSTELLATION_ADMIN_TOKEN must be 32 to 256 URL-safe characters',
    ],
    [
      { CONSTELLATION_ADMIN_TOKEN: 'a'.repeat(257) },
      'CONSTELLATION_ADMIN_TOKEN must be 32 to 256 URL-safe characters',
    ],
    ...['proxy.example.org', '10.0.0.0/33', '10.0.0.1,', '2001:db8::/129', '300.1.1.1', 'anywhere'].map(
      (value): [Record<string, string>, string] => [
        { CONSTELLATION_TRUSTED_PROXIES: value },
        'CONSTELLATION_TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDRs',
      ],
    ),
    [{ CONSTELLATION_ORG_URL: 'ftp://x' }, 'CONSTELLATION_ORG_URL must be an http:// or https:// URL'],
    [
      { CONSTELLATION_RETENTION_DAYS: '0' },
      'CONSTELLATION_RETENTION_DAYS must be an integer from 1 to 36500',
    ],
    [
      { CONSTELLATION_RETENTION_DAYS: '7.5' },
      'CONSTELLATION_RETENTION_DAYS must be an integer from 1 to 36500',
    ],
    [
      { CONSTELLATION_RETENTION_DAYS: 'forever' },
      'CONSTELLATION_RETENTION_DAYS must be an integer from 1 to 36500',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_ENDPOINT: 'http://minio:9000' },
      'CONSTELLATION_JOB_FILES_S3_BUCKET must be set when CONSTELLATION_JOB_FILES_S3_ENDPOINT is set',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'Job_Files' },
      'CONSTELLATION_JOB_FILES_S3_BUCKET must be a bucket name',
    ],
    [{ CONSTELLATION_JOB_FILES_S3_BUCKET: 'ab' }, 'CONSTELLATION_JOB_FILES_S3_BUCKET must be a bucket name'],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_S3_ENDPOINT: 'minio:9000' },
      'CONSTELLATION_JOB_FILES_S3_ENDPOINT must be an http:// or https:// URL',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_S3_REGION: 'eu west' },
      'CONSTELLATION_JOB_FILES_S3_REGION must be a region name',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_S3_PREFIX: '/abs/' },
      'CONSTELLATION_JOB_FILES_S3_PREFIX must be an object key prefix',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_S3_FORCE_PATH_STYLE: 'maybe' },
      'CONSTELLATION_JOB_FILES_S3_FORCE_PATH_STYLE must be true or false',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID: 'AKIA1' },
      'CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY must be set together with the other',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS: '0' },
      'CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 300',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS: '10s' },
      'CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS must be a number of seconds from 0.1 to 300',
    ],
    [
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', CONSTELLATION_JOB_FILES_RECHECK_SECONDS: '-1' },
      'CONSTELLATION_JOB_FILES_RECHECK_SECONDS must be a number of seconds from 0 to 3600',
    ],
    [
      { CONSTELLATION_JOB_FILES_RECHECK_SECONDS: '30' },
      'CONSTELLATION_JOB_FILES_S3_BUCKET must be set when CONSTELLATION_JOB_FILES_RECHECK_SECONDS is set',
    ],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads the job-files bucket: MinIO by path with explicit keys, or AWS with the SDK finding the rest', () => {
    expect(
      loadConfig({
        CONSTELLATION_JOB_FILES_S3_BUCKET: 'constellation-files',
        CONSTELLATION_JOB_FILES_S3_ENDPOINT: 'http://minio:9000',
        CONSTELLATION_JOB_FILES_S3_PREFIX: 'prod/',
        CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID: 'minio',
        CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY: 'minio-secret',
      }).jobFilesS3,
    ).toEqual({
      bucket: 'constellation-files',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      prefix: 'prod/',
      forcePathStyle: true,
      credentials: { accessKeyId: 'minio', secretAccessKey: 'minio-secret' },
      checkTimeoutSeconds: 10,
      recheckSeconds: 5,
    });
    expect(
      loadConfig({ CONSTELLATION_JOB_FILES_S3_BUCKET: 'files', AWS_REGION: 'eu-west-1' }).jobFilesS3,
    ).toEqual({
      bucket: 'files',
      endpoint: undefined,
      region: 'eu-west-1',
      prefix: 'job-files/',
      forcePathStyle: false,
      credentials: undefined,
      checkTimeoutSeconds: 10,
      recheckSeconds: 5,
    });
    expect(
      loadConfig({
        CONSTELLATION_JOB_FILES_S3_BUCKET: 'files',
        CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS: '2.5',
        CONSTELLATION_JOB_FILES_RECHECK_SECONDS: '0',
      }).jobFilesS3,
    ).toMatchObject({ checkTimeoutSeconds: 2.5, recheckSeconds: 0 });
  });

  it('never echoes a secret value', () => {
    const secret = 'tiny-secret';
    try {
      loadConfig({ CONSTELLATION_SECRET_KEY: secret });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});
