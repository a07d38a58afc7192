import { randomBytes } from 'node:crypto';
import { FakeS3, startFakeS3 } from '@constellation/testing';
import { BucketCheckFailed, S3FileBytes, S3FileBytesOptions } from './s3-file-bytes';

const ACCESS = { accessKeyId: 'AKIAFAKECHECK', secretAccessKey: randomBytes(20).toString('hex') };
const PREFIX = 'check/job-files/';
let s3: FakeS3;
const clients: S3FileBytes[] = [];

beforeAll(async () => {
  s3 = await startFakeS3({ bucket: 'check-bucket', ...ACCESS });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await s3?.close();
});
afterEach(() => s3.heal());

function bytes(overrides: Partial<S3FileBytesOptions> = {}): S3FileBytes {
  const b = new S3FileBytes({
    bucket: s3.bucket,
    endpoint: s3.url,
    region: 'us-east-1',
    prefix: PREFIX,
    forcePathStyle: true,
    credentials: ACCESS,
    ...overrides,
  });
  clients.push(b);
  return b;
}

async function failure(check: Promise<void>): Promise<BucketCheckFailed> {
  const err = await check.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BucketCheckFailed);
  return err as BucketCheckFailed;
}

describe('S3FileBytes.check', () => {
  it('writes a test object under the prefix and deletes it, on a bucket that takes writes', async () => {
    const before = s3.requests().length;
    await bytes().check(5_000);
    const calls = s3.requests().slice(before);
    expect(calls.map((c) => [c.op, c.status])).toEqual([
      ['PutObject', 200],
      ['DeleteObject', 204],
    ]);
    expect(calls[0].key.startsWith(`${PREFIX}.constellation-check/`)).toBe(true);
    expect(s3.keys().filter((k) => k.startsWith(PREFIX))).toEqual([]);
  });

  it('names the bucket, its endpoint and S3 answer for a bucket that does not exist: a lasting refusal', async () => {
    const err = await failure(bytes({ bucket: 'no-such-bucket' }).check(5_000));
    expect(err.message).toBe(
      `writing a test object under the prefix (${PREFIX}) in the S3 bucket no-such-bucket at ${s3.url} failed: ` +
        'NoSuchBucket (HTTP 404): The specified bucket does not exist',
    );
    expect(err.lasting).toBe(true);
  });

  it.each([
    ['an unknown access key', { ...ACCESS, accessKeyId: 'AKIAUNKNOWN' }, /InvalidAccessKeyId \(HTTP 403\)/],
    ['a wrong secret', { ...ACCESS, secretAccessKey: 'wrong' }, /SignatureDoesNotMatch \(HTTP 403\)/],
  ])('refuses %s for good, naming S3 error', async (_what, credentials, reason) => {
    const err = await failure(bytes({ credentials }).check(5_000));
    expect(err.message).toMatch(
      /^writing a test object under the prefix .* in the S3 bucket check-bucket at /,
    );
    expect(err.message).toMatch(reason);
    expect(err.lasting).toBe(true);
  });

  it('takes a store failing on its side, or not answering in time, for an outage that may pass', async () => {
    s3.fail('internal-error', { op: 'PutObject' });
    const failing = await failure(bytes().check(5_000));
    expect(failing.message).toMatch(/failed: InternalError \(HTTP 500\)/);
    expect(failing.lasting).toBe(false);

    s3.fail('stall', { op: 'DeleteObject' });
    const started = Date.now();
    const stalled = await failure(bytes().check(300));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(stalled.message).toMatch(/^deleting its test object .* failed: no answer within 0.3 s$/);
    expect(stalled.lasting).toBe(false);
  });
});
