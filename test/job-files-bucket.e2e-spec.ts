import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { generateToken } from '../libs/auth/src/token-codec';
import { FakeS3, startFakeS3 } from '@constellation/testing';
import { freePort, spawnBroker } from './support/broker-process';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

jest.setTimeout(180_000);

const ACCESS = { accessKeyId: 'AKIABUCKETCHECK', secretAccessKey: randomBytes(20).toString('hex') };
const PREFIX = `bucket-check-${process.pid}/`;

describe('the job-files bucket is checked when the broker starts', () => {
  let s3: FakeS3;
  let t: TestApp | undefined;

  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    CONSTELLATION_JOB_FILES_S3_BUCKET: s3.bucket,
    CONSTELLATION_JOB_FILES_S3_ENDPOINT: s3.url,
    CONSTELLATION_JOB_FILES_S3_PREFIX: PREFIX,
    CONSTELLATION_JOB_FILES_S3_ACCESS_KEY_ID: ACCESS.accessKeyId,
    CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY: ACCESS.secretAccessKey,
    ...overrides,
  });

  beforeAll(async () => {
    s3 = await startFakeS3({ bucket: 'checked-files', ...ACCESS });
  });
  afterEach(async () => {
    s3.heal();
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('starts on a bucket that takes a write, and says so on /health/ready', async () => {
    t = await startTestApp(env());
    const writes = s3.requests().filter((r) => r.op === 'PutObject' && r.key.startsWith(PREFIX));
    expect(writes.map((r) => r.status)).toEqual([200]);
    expect(s3.keys().filter((k) => k.startsWith(PREFIX))).toEqual([]);
    const ready = await request(t.url).get('/health/ready').expect(200);
    expect(ready.body.info).toMatchObject({ database: { status: 'up' }, job_files_bucket: { status: 'up' } });
  });

  it.each([
    [
      'a bucket that does not exist',
      { CONSTELLATION_JOB_FILES_S3_BUCKET: 'misspelt-files' },
      'misspelt-files',
      'NoSuchBucket (HTTP 404): The specified bucket does not exist',
    ],
    [
      'a wrong secret key',
      { CONSTELLATION_JOB_FILES_S3_SECRET_ACCESS_KEY: 'not-the-secret' },
      'checked-files',
      'SignatureDoesNotMatch (HTTP 403)',
    ],
  ])(
    'does not start on %s, and says which bucket, where, and what S3 answered',
    async (_what, overrides, bucket, answer) => {
      const proc = spawnBroker({
        ...process.env,
        PORT: String(await freePort()),
        CONSTELLATION_ADMIN_TOKEN: generateToken(),
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'warn',
        ...env(overrides),
      });
      // A broker that started anyway is stopped, so the test fails rather than waits for it.
      const started = setTimeout(() => proc.child.kill('SIGKILL'), 120_000);
      const exited = await proc.exited;
      clearTimeout(started);
      expect(exited).toEqual({ code: 1, signal: null });
      expect(proc.output()).toContain(
        `cannot start: the job-files bucket refuses the broker: writing a test object under the prefix (${PREFIX}) ` +
          `in the S3 bucket ${bucket} at ${s3.url} failed: ${answer}`,
      );
    },
  );

  it('starts while the bucket fails on its side, with /health/ready failing and saying why until it recovers', async () => {
    s3.fail('internal-error', { op: 'PutObject' });
    t = await startTestApp(env());
    const down = await request(t.url).get('/health/ready').expect(503);
    expect(down.body.message).toMatch(
      new RegExp(
        `^not ready: job_files_bucket down \\(writing a test object under the prefix \\(${PREFIX}\\) in the S3 ` +
          `bucket checked-files at ${s3.url} failed: InternalError \\(HTTP 500\\)`,
      ),
    );
    s3.heal();
    const app = t;
    await waitFor('readiness once the bucket answers', async () =>
      (await request(app.url).get('/health/ready')).status === 200 ? true : undefined,
    );
  });

  it('waits for a silent bucket at start-up and asks it again while not ready as long as its settings say', async () => {
    s3.fail('stall', { op: 'PutObject' });
    const started = Date.now();
    t = await startTestApp(
      env({
        CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS: '1',
        CONSTELLATION_JOB_FILES_RECHECK_SECONDS: '8',
      }),
    );
    // The start-up check gave up after its one second (the default would have waited ten).
    expect(Date.now() - started).toBeLessThan(10_000);
    const down = await request(t.url).get('/health/ready').expect(503);
    expect(down.body.message).toContain('failed: no answer within 1 s');
    const puts = () => s3.requests().filter((r) => r.op === 'PutObject' && r.key.startsWith(PREFIX)).length;
    const before = puts();
    // Within the re-check interval, readiness repeats the last failure without asking the bucket.
    for (let i = 0; i < 3; i++) await request(t.url).get('/health/ready').expect(503);
    expect(puts()).toBe(before);
    s3.heal();
    const app = t;
    const healed = Date.now();
    await waitFor('readiness once the bucket answers', async () =>
      (await request(app.url).get('/health/ready')).status === 200 ? true : undefined,
    );
    // Seen only once the interval since the last failure ran out, by a new check.
    expect(puts()).toBeGreaterThan(before);
    expect(Date.now() - healed).toBeLessThan(15_000);
  });
});
