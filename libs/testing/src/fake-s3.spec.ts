import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { FakeS3, startFakeS3 } from './fake-s3';

const ACCESS = { accessKeyId: 'AKIAFAKETEST', secretAccessKey: randomBytes(20).toString('hex') };
let s3: FakeS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startFakeS3({ bucket: 'fake-spec', ...ACCESS });
  // The SDK's defaults: flexible checksums on every upload, which streams as aws-chunked with a CRC32 trailer.
  client = new S3Client({ region: 'us-east-1', endpoint: s3.url, forcePathStyle: true, credentials: ACCESS });
});
afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

async function refusal(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return { name: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('the request was not refused');
}

describe('fake S3 server', () => {
  it('decodes an aws-chunked stream and checks its CRC32 trailer, as S3 does', async () => {
    const data = randomBytes(300_000);
    await client.send(
      new PutObjectCommand({
        Bucket: 'fake-spec',
        Key: 'chunked/a b+c',
        Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
        ContentLength: data.length,
      }),
    );
    const put = s3.requests().find((r) => r.key === 'chunked/a b+c');
    expect(put).toMatchObject({ op: 'PutObject', status: 200, bytes: data.length });
    expect(put?.payload).toMatch(/^STREAMING-/);
    expect(s3.object('chunked/a b+c')?.equals(data)).toBe(true);

    const head = await client.send(new HeadObjectCommand({ Bucket: 'fake-spec', Key: 'chunked/a b+c' }));
    expect(head.ContentLength).toBe(data.length);
    const got = await client.send(new GetObjectCommand({ Bucket: 'fake-spec', Key: 'chunked/a b+c' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('deletes in batches, and answers missing keys and buckets with the XML errors S3 sends', async () => {
    for (const Key of ['d/1', 'd/2']) {
      await client.send(new PutObjectCommand({ Bucket: 'fake-spec', Key, Body: Buffer.from(Key) }));
    }
    await client.send(
      new DeleteObjectsCommand({
        Bucket: 'fake-spec',
        Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2' }], Quiet: true },
      }),
    );
    expect(s3.keys().filter((k) => k.startsWith('d/'))).toEqual([]);
    expect(await refusal(client.send(new GetObjectCommand({ Bucket: 'fake-spec', Key: 'd/1' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    expect(await refusal(client.send(new HeadObjectCommand({ Bucket: 'fake-spec', Key: 'd/1' })))).toEqual({
      name: 'NotFound',
      status: 404,
    });
    expect(await refusal(client.send(new GetObjectCommand({ Bucket: 'other', Key: 'x' })))).toEqual({
      name: 'NoSuchBucket',
      status: 404,
    });
  });

  it('refuses unsigned requests and bodies that do not match their declared hash', async () => {
    const unsigned = await fetch(`${s3.url}/fake-spec/x`, { method: 'PUT', body: 'x' });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/,
    );

    // Signed over one hash, sent with another body: the signature holds, the payload check does not.
    const tampering = new S3Client({
      region: 'us-east-1',
      endpoint: s3.url,
      forcePathStyle: true,
      credentials: ACCESS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: unknown };
        request.body = Buffer.from('b');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    expect(
      await refusal(
        tampering.send(new PutObjectCommand({ Bucket: 'fake-spec', Key: 't', Body: Buffer.from('a') })),
      ),
    ).toEqual({ name: 'XAmzContentSHA256Mismatch', status: 400 });
    tampering.destroy();
    expect(s3.object('t')).toBeUndefined();
  });
});
