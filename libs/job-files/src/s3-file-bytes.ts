import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { bounded, FileStoreUnavailable, FileTooLarge, type JobFileBytes } from './job-file-bytes';

export interface S3FileBytesOptions {
  bucket: string;
  /** For MinIO, Ceph and other S3-compatible stores; none: AWS S3 of `region`. */
  endpoint?: string;
  region: string;
  /** Put before every key: `<prefix><job id>/<file id>`. */
  prefix: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key` (MinIO and Ceph usually want it). */
  forcePathStyle: boolean;
  /** None: the SDK's default chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, web identity, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bytes per part of a multipart upload (at least 5 MiB, S3's minimum); default 8 MiB. */
  partBytes?: number;
  /** Giving up on connecting, and on a connection that has been silent this long. Defaults 10 s and 120 s. */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
/** DeleteObject per key rather than DeleteObjects: not every S3-compatible store has the batch call. */
const DELETES_AT_ONCE = 8;

/**
 * The bucket refused or did not answer the check. `lasting`: S3 refused it (no such bucket, unknown key, bad
 * signature, access denied, wrong region), which only a change of settings mends; otherwise it did not answer
 * in time or failed on its side, which may pass.
 */
export class BucketCheckFailed extends FileStoreUnavailable {
  constructor(
    message: string,
    readonly lasting: boolean,
  ) {
    super(message);
  }
}

/** S3's answers that no retry mends: 3xx (another region) and 4xx but a timeout or throttling. */
function lastingRefusal(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    return status >= 300 && status < 500 && status !== 408 && status !== 429;
  }
  // No credentials found by the SDK's default chain: a setting missing, not an outage.
  return err instanceof Error && err.name === 'CredentialsProviderError';
}

/**
 * Bytes as objects in an S3-compatible bucket, one per file: streamed up in parts of `partBytes` (a single
 * PutObject for a file smaller than one part), streamed down as the reader consumes them. Never more than two
 * parts of a file are in memory.
 */
export class S3FileBytes implements JobFileBytes {
  private readonly where: string;
  private readonly client: S3Client;

  constructor(private readonly opts: S3FileBytesOptions) {
    this.where = `the S3 bucket ${opts.bucket}`;
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      // Checksums only where S3 requires them: S3-compatible stores that predate the SDK's flexible checksums
      // (older MinIO and Ceph releases) refuse uploads that carry them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 10_000,
        // Idle, not total: a large file may take far longer than any fixed bound to stream.
        socketTimeout: opts.idleTimeoutMs ?? 120_000,
      },
    });
  }

  private key(jobId: string, fileId: string): string {
    return `${this.opts.prefix}${jobId}/${fileId}`;
  }

  private failed(what: string, err: unknown): Error {
    if (err instanceof FileTooLarge || err instanceof FileStoreUnavailable) return err;
    return new FileStoreUnavailable(`${what} ${this.where} failed: ${this.reason(err)}`);
  }

  /** S3's error code, status and message, as an operator needs them to tell what is wrong. */
  private reason(err: unknown): string {
    if (err instanceof S3ServiceException)
      return `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'}): ${err.message}`;
    return err instanceof Error ? err.message : String(err);
  }

  async write(
    jobId: string,
    fileId: string,
    body: AsyncIterable<Buffer | Uint8Array>,
    maxBytes: number,
  ): Promise<number> {
    const counted = { bytes: 0 };
    // The sender's failures (too large, connection dropped) are theirs to hear, not the bucket's.
    let sourceFailure: unknown;
    const source = Readable.from(bounded(body, maxBytes, counted));
    source.on('error', (err) => (sourceFailure = err));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: this.key(jobId, fileId), Body: source },
      partSize: this.opts.partBytes ?? DEFAULT_PART_BYTES,
      queueSize: 1,
    });
    try {
      await upload.done();
    } catch (err) {
      throw sourceFailure ?? this.failed('writing to', err);
    }
    return counted.bytes;
  }

  async read(jobId: string, fileId: string): Promise<Readable> {
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(jobId, fileId) }),
      );
      if (!(got.Body instanceof Readable)) throw new Error('the SDK answered no stream');
      return got.Body;
    } catch (err) {
      throw this.failed('reading from', err);
    }
  }

  async discard(jobId: string, fileIds: readonly string[]): Promise<void> {
    const keys = fileIds.map((id) => this.key(jobId, id));
    for (let at = 0; at < keys.length; at += DELETES_AT_ONCE) {
      const batch = keys.slice(at, at + DELETES_AT_ONCE);
      await Promise.all(
        batch.map((Key) =>
          this.client
            .send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key }))
            .catch((err: unknown) => {
              throw this.failed('deleting from', err);
            }),
        ),
      );
    }
  }

  /**
   * Proves that files can be stored: writes a small object under the prefix and deletes it, within
   * `timeoutMs`. Not HeadBucket: it needs s3:ListBucket, which a policy granting only the object calls under
   * the prefix (all the broker needs) refuses, and it proves no right to write.
   */
  async check(timeoutMs: number): Promise<void> {
    const Key = `${this.opts.prefix}.constellation-check/${randomUUID()}`;
    const abortSignal = AbortSignal.timeout(timeoutMs);
    let step = 'writing a test object under the prefix';
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key,
          Body: 'a check of the broker: written, then deleted',
        }),
        { abortSignal },
      );
      step = 'deleting its test object';
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key }), { abortSignal });
    } catch (err) {
      const reason = abortSignal.aborted ? `no answer within ${timeoutMs / 1000} s` : this.reason(err);
      throw new BucketCheckFailed(
        `${step} (${this.opts.prefix}) in ${this.where} at ${this.opts.endpoint ?? `AWS S3 (${this.opts.region})`} failed: ${reason}`,
        !abortSignal.aborted && lastingRefusal(err),
      );
    }
  }

  close(): void {
    this.client.destroy();
  }
}
