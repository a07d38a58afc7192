import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { readAtMost } from '@constellation/common';
import { FakeS3, startFakeS3 } from '@constellation/testing';
import { migratedDataSource } from '../../../test/support/test-database';
import { FileStoreUnavailable, FileTooLarge } from './job-file-bytes';
import { JobFilesService } from './job-files.service';
import { JobFilesStore, JobRemoved } from './job-files-store';
import { BucketCheckFailed, S3FileBytes, S3FileBytesOptions } from './s3-file-bytes';

const SECRET = 'k'.repeat(40);
const CHUNK = 4;
const PREFIX = 'spec/job-files/';
const ACCESS = { accessKeyId: 'AKIAFAKESPEC', secretAccessKey: randomBytes(20).toString('hex') };
let db: DataSource;
let s3: FakeS3;
let counter = 0;
const clients: S3FileBytes[] = [];

beforeAll(async () => {
  db = await migratedDataSource();
  s3 = await startFakeS3({ bucket: 'spec-bucket', ...ACCESS });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await s3?.close();
  await db?.destroy();
});
afterEach(() => s3.heal());

/** A job id no other test (or run of this one) uses. */
function jobId(): string {
  return `job-files-store-spec-${process.pid}-${Date.now()}-${++counter}-1`;
}

function s3Bytes(overrides: Partial<S3FileBytesOptions> = {}): S3FileBytes {
  const bytes = new S3FileBytes({
    bucket: s3.bucket,
    endpoint: s3.url,
    region: 'us-east-1',
    prefix: PREFIX,
    forcePathStyle: true,
    credentials: ACCESS,
    ...overrides,
  });
  clients.push(bytes);
  return bytes;
}

function s3Store(overrides: Partial<S3FileBytesOptions> = {}): JobFilesStore {
  return new JobFilesStore({ db, publicUrl: () => 'http://x', secretKey: SECRET, bytes: s3Bytes(overrides) });
}

interface Backend {
  name: string;
  /** `chunkBytes`: PostgreSQL's rows (small, to show files span several); a bucket ignores it. */
  store(chunkBytes?: number): JobFilesStore;
  /** Chunk rows or objects that hold the job's bytes. */
  blobs(job: string): Promise<number>;
  /** How many of them a file of `bytes` bytes takes. */
  blobsFor(bytes: number): number;
}

const postgres: Backend = {
  name: 'PostgreSQL',
  store: (chunkBytes = CHUNK) =>
    new JobFilesStore({ db, publicUrl: () => 'http://x', secretKey: SECRET, chunkBytes }),
  async blobs(job) {
    const [row]: { n: number }[] = await db.query(
      `SELECT count(*)::int AS n FROM job_file_chunk c JOIN job_file f ON f.id = c.file_id WHERE f.job_id = $1`,
      [job],
    );
    return row.n;
  },
  blobsFor: (bytes) => Math.ceil(bytes / CHUNK),
};

const bucket: Backend = {
  name: 'an S3 bucket',
  store: () => s3Store(),
  blobs: (job) => Promise.resolve(s3.keys().filter((k) => k.startsWith(`${PREFIX}${job}/`)).length),
  blobsFor: () => 1,
};

async function text(s: JobFilesStore, job: string, path: string): Promise<string | null> {
  const file = await s.openPosted(job, path);
  if (!file) return null;
  const { bytes } = await readAtMost(file.body, 1e6);
  expect(bytes.length).toBe(file.length);
  return bytes.toString('utf8');
}

async function filesOf(job: string): Promise<number> {
  const [row]: { n: number }[] = await db.query('SELECT count(*)::int AS n FROM job_file WHERE job_id = $1', [
    job,
  ]);
  return row.n;
}

describe.each([postgres, bucket])('job files with the bytes in $name', (backend) => {
  const kept = async (job: string) => ({ files: await filesOf(job), blobs: await backend.blobs(job) });

  it('stores a file, written once, that another replica reads whole', async () => {
    const job = jobId();
    const receiving = backend.store();
    const delivering = backend.store();
    const body = Readable.from([Buffer.from('hello '), Buffer.from('chunked '), Buffer.from('world')]);
    expect(await receiving.receive(job, 'outputs/o0', body, 1e6)).toBe(19);
    expect(await kept(job)).toEqual({ files: 1, blobs: backend.blobsFor(19) });
    expect(await text(delivering, job, '/outputs//o0')).toBe('hello chunked world');
    expect(await delivering.listPosted(job, 'outputs')).toEqual(['o0']);
  });

  it('replaces a file whole when a site posts it again, and lists nested paths', async () => {
    const job = jobId();
    const s = backend.store();
    await s.receive(job, 'outputs/o1/a.txt', Readable.from([Buffer.from('first copy')]), 1e6);
    await s.receive(job, 'outputs/o1/sub/b.txt', Readable.from([Buffer.from('b')]), 1e6);
    await s.receive(job, 'outputs/o1/a.txt', Readable.from([Buffer.from('second')]), 1e6);
    expect(await text(s, job, 'outputs/o1/a.txt')).toBe('second');
    expect(await s.listPosted(job, 'outputs')).toEqual(['o1/a.txt', 'o1/sub/b.txt']);
    expect(await kept(job)).toEqual({ files: 2, blobs: backend.blobsFor(6) + backend.blobsFor(1) });
  });

  it('keeps nothing of a file larger than allowed', async () => {
    const job = jobId();
    await expect(
      backend.store().receive(job, 'outputs/big', Readable.from([Buffer.alloc(10)]), 5),
    ).rejects.toThrow('the file is larger than 5 bytes');
    expect(await kept(job)).toEqual({ files: 0, blobs: 0 });
  });

  it('removes a job for good: its files go, and a later upload through any replica is refused', async () => {
    const job = jobId();
    await backend.store().stage(job, 'plan.json', Buffer.from('{}'));
    await backend.store().receive(job, 'outputs/o0', Readable.from([Buffer.from('x')]), 1e6);
    expect((await backend.store().readStaged(job, 'plan.json', 100))?.toString()).toBe('{}');
    await backend.store().remove(job);
    expect(await kept(job)).toEqual({ files: 0, blobs: 0 });
    expect(await backend.store().readStaged(job, 'plan.json', 100)).toBeNull();
    await expect(
      backend.store().receive(job, 'outputs/o0', Readable.from([Buffer.from('late')]), 1e6),
    ).rejects.toThrow(JobRemoved);
    expect(await kept(job)).toEqual({ files: 0, blobs: 0 });
  });

  it('drops an upload that was still being written when its job was removed', async () => {
    const job = jobId();
    const s = backend.store();
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('abcdefgh');
      await s.remove(job);
      yield Buffer.from('ijkl');
    }
    await expect(s.receive(job, 'outputs/o0', Readable.from(slow()), 1e6)).rejects.toThrow(JobRemoved);
    expect(await kept(job)).toEqual({ files: 0, blobs: 0 });
  });

  describe('through the service', () => {
    let server: Server;
    afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    it('gives up on an upload the client abandons: the request settles, nothing half-written stays', async () => {
      const job = jobId();
      const s = backend.store(16 * 1024);
      const service = new JobFilesService(s, { maxFileBytes: 1e9 });
      const settled = new Promise<string>((resolve) => {
        server = createServer((req, res) => {
          const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
          service.receive(job, query, req).then(
            () => resolve('stored'),
            (err: Error) => resolve(`refused: ${err.message}`),
          );
          res.on('error', () => undefined);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const upload = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/?key=${s.keys.keyFor(job)}&path=out/a.txt`,
        headers: { 'content-type': 'multipart/form-data; boundary=XX' },
      });
      upload.on('error', () => undefined);
      upload.write(
        '--XX\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: application/octet-stream\r\n\r\n',
      );
      upload.write(Buffer.alloc(100_000, 97));
      await new Promise((r) => setTimeout(r, 200));
      upload.destroy();
      const outcome = await Promise.race([
        settled,
        new Promise((r) => setTimeout(() => r('still pending'), 3000)),
      ]);
      expect(outcome).toBe('refused: the upload was aborted');
      // The request settles at once; the store drops what it had written as its stream ends.
      const deadline = Date.now() + 3000;
      while ((await filesOf(job)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await kept(job)).toEqual({ files: 0, blobs: 0 });
      expect(await s.openPosted(job, 'out/a.txt')).toBeNull();
    });
  });
});

describe('JobFilesStore with the bytes in an S3 bucket', () => {
  const MIB = 1024 * 1024;
  const opsOf = (job: string) =>
    s3
      .requests()
      .filter((r) => r.key.startsWith(`${PREFIX}${job}/`))
      .map((r) => `${r.op} ${r.status}`);

  it('streams a file larger than a part up in parts, and down again whole', async () => {
    const job = jobId();
    const s = s3Store({ partBytes: 5 * MIB });
    const content = randomBytes(12 * MIB + 1);
    const pieces = function* () {
      for (let at = 0; at < content.length; at += 100_000) yield content.subarray(at, at + 100_000);
    };
    expect(await s.receive(job, 'outputs/big', Readable.from(pieces()), 64 * MIB)).toBe(content.length);
    expect(opsOf(job)).toEqual([
      'CreateMultipartUpload 200',
      'UploadPart 200',
      'UploadPart 200',
      'UploadPart 200',
      'CompleteMultipartUpload 200',
    ]);
    const file = await s3Store().openPosted(job, 'outputs/big');
    expect(file?.length).toBe(content.length);
    const { bytes } = await readAtMost(file!.body, 64 * MIB);
    expect(bytes.equals(content)).toBe(true);
  });

  it('aborts the multipart upload of a file that grows past the limit, keeping nothing', async () => {
    const job = jobId();
    const s = s3Store({ partBytes: 5 * MIB });
    const pieces = function* () {
      for (let i = 0; i < 12; i++) yield Buffer.alloc(MIB, i);
    };
    await expect(s.receive(job, 'outputs/big', Readable.from(pieces()), 7 * MIB)).rejects.toThrow(
      FileTooLarge,
    );
    expect(await filesOf(job)).toBe(0);
    expect(await bucket.blobs(job)).toBe(0);
    expect(s3.openUploads()).toBe(0);
  });

  it('rides out one SlowDown (the SDK retries), and names the bucket and the error when they persist', async () => {
    const job = jobId();
    const s = s3Store();
    s3.fail('slow-down', { op: 'PutObject', times: 1 });
    await s.receive(job, 'outputs/a', Readable.from([Buffer.from('first')]), 1e6);
    expect(opsOf(job)).toEqual(['PutObject 503', 'PutObject 200']);

    s3.fail('slow-down', { op: 'PutObject' });
    const failed = s.receive(job, 'outputs/a', Readable.from([Buffer.from('second')]), 1e6);
    await expect(failed).rejects.toThrow(FileStoreUnavailable);
    await expect(failed).rejects.toThrow(
      /^writing to the S3 bucket spec-bucket failed: SlowDown \(HTTP 503\): Please reduce your request rate/,
    );
    // What was accepted before is still there, whole; the failed copy left nothing behind.
    s3.heal();
    expect(await text(s, job, 'outputs/a')).toBe('first');
    expect(await filesOf(job)).toBe(1);
    expect(await bucket.blobs(job)).toBe(1);
  });

  it('gives up on a bucket that stops answering, within its idle timeout', async () => {
    const job = jobId();
    await s3Store().receive(job, 'outputs/a', Readable.from([Buffer.from('kept')]), 1e6);
    s3.fail('stall', { op: 'GetObject' });
    const impatient = s3Store({ idleTimeoutMs: 200 });
    await expect(impatient.openPosted(job, 'outputs/a')).rejects.toThrow(
      /^reading from the S3 bucket spec-bucket failed: .*timed out after 200 ms of inactivity/,
    );
    s3.heal();
    expect(await text(impatient, job, 'outputs/a')).toBe('kept');
  });

  it('keeps the rows when the bucket refuses a removal, refuses uploads meanwhile, and finishes it later', async () => {
    const job = jobId();
    const s = s3Store();
    await s.receive(job, 'outputs/a', Readable.from([Buffer.from('a')]), 1e6);
    s3.fail('internal-error', { op: 'DeleteObject' });
    await expect(s.remove(job)).rejects.toThrow(
      'deleting from the S3 bucket spec-bucket failed: InternalError (HTTP 500)',
    );
    expect(await filesOf(job)).toBe(1);
    await expect(s.receive(job, 'outputs/b', Readable.from([Buffer.from('late')]), 1e6)).rejects.toThrow(
      JobRemoved,
    );
    s3.heal();
    // Nobody calls remove() for that job again: the next removal of any job finishes it.
    await s.remove(jobId());
    expect(await filesOf(job)).toBe(0);
    expect(await bucket.blobs(job)).toBe(0);
  });

  it('is refused by a bucket that does not know its key or secret', async () => {
    const job = jobId();
    const wrongSecret = s3Store({ credentials: { ...ACCESS, secretAccessKey: 'not-the-secret' } });
    await expect(
      wrongSecret.receive(job, 'outputs/a', Readable.from([Buffer.from('a')]), 1e6),
    ).rejects.toThrow('SignatureDoesNotMatch (HTTP 403)');
    const wrongKey = s3Store({ credentials: { ...ACCESS, accessKeyId: 'AKIAOTHER' } });
    await expect(wrongKey.receive(job, 'outputs/a', Readable.from([Buffer.from('a')]), 1e6)).rejects.toThrow(
      'InvalidAccessKeyId (HTTP 403)',
    );
    expect(await filesOf(job)).toBe(0);
  });
});

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
    await s3Bytes().check(5_000);
    const calls = s3.requests().slice(before);
    expect(calls.map((c) => [c.op, c.status])).toEqual([
      ['PutObject', 200],
      ['DeleteObject', 204],
    ]);
    expect(calls[0].key.startsWith(`${PREFIX}.constellation-check/`)).toBe(true);
    expect(s3.keys().filter((k) => k.startsWith(`${PREFIX}.constellation-check/`))).toEqual([]);
  });

  it('names the bucket, its endpoint and S3 answer for a bucket that does not exist: a lasting refusal', async () => {
    const err = await failure(s3Bytes({ bucket: 'no-such-bucket' }).check(5_000));
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
    const err = await failure(s3Bytes({ credentials }).check(5_000));
    expect(err.message).toMatch(
      /^writing a test object under the prefix .* in the S3 bucket spec-bucket at /,
    );
    expect(err.message).toMatch(reason);
    expect(err.lasting).toBe(true);
  });

  it('takes a store failing on its side, or not answering in time, for an outage that may pass', async () => {
    s3.fail('internal-error', { op: 'PutObject' });
    const failing = await failure(s3Bytes().check(5_000));
    expect(failing.message).toMatch(/failed: InternalError \(HTTP 500\)/);
    expect(failing.lasting).toBe(false);

    s3.fail('stall', { op: 'DeleteObject' });
    const started = Date.now();
    const stalled = await failure(s3Bytes().check(300));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(stalled.message).toMatch(/^deleting its test object .* failed: no answer within 0.3 s$/);
    expect(stalled.lasting).toBe(false);
  });
});
