import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { startLoopbackServer } from './loopback-server';
import { md5, payloadOf, S3Error } from './s3-payload';
import { checkSigV4 } from './sigv4-check';

export type FakeS3Operation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload';

/** `slow-down`: 503 SlowDown as S3 answers under load; `stall`: the request is read and never answered. */
export type FakeS3Failure = 'slow-down' | 'internal-error' | 'stall';

export interface FakeS3Request {
  op: FakeS3Operation | 'unknown';
  key: string;
  status: number | 'stalled';
  /** The body's bytes after any aws-chunked decoding. */
  bytes: number;
  /** What x-amz-content-sha256 declared: a hex hash, UNSIGNED-PAYLOAD or a STREAMING-… mode. */
  payload: string;
}

export interface FakeS3Options {
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface FakeS3 {
  /** For the client's endpoint, used path-style: `${url}/${bucket}/${key}`. */
  readonly url: string;
  readonly bucket: string;
  /** Keys of the stored objects, sorted. */
  keys(): string[];
  object(key: string): Buffer | undefined;
  /** Multipart uploads started and neither completed nor aborted. */
  openUploads(): number;
  requests(): FakeS3Request[];
  /** Fails the next `times` requests (of `op` only, when given) the way named; `heal` ends it. */
  fail(how: FakeS3Failure, opts?: { op?: FakeS3Operation; times?: number }): void;
  heal(): void;
  close(): Promise<void>;
}

const MIN_PART_BYTES = 5 * 1024 * 1024;

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

function xml(res: ServerResponse, status: number, body: string): void {
  res
    .writeHead(status, { 'content-type': 'application/xml' })
    .end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

function operation(method: string, key: string, query: URLSearchParams): FakeS3Operation | 'unknown' {
  if (key === '') return method === 'POST' && query.has('delete') ? 'DeleteObjects' : 'unknown';
  if (method === 'PUT') return query.has('uploadId') ? 'UploadPart' : 'PutObject';
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE') return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return 'unknown';
}

/**
 * An S3 server on 127.0.0.1 with one bucket, addressed path-style (as MinIO and Ceph are usually configured),
 * speaking the REST API that @aws-sdk/client-s3 and @aws-sdk/lib-storage use: PutObject, multipart uploads,
 * GetObject streamed, HeadObject, DeleteObject(s), errors as S3's XML bodies. Every request must carry a valid
 * SigV4 Authorization header for the configured key; declared payload digests are checked, and aws-chunked
 * bodies decoded. It can fail on demand: 503 SlowDown, 500 InternalError, or a request never answered.
 */
export async function startFakeS3(opts: FakeS3Options): Promise<FakeS3> {
  const objects = new Map<string, Buffer>();
  const uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  const log: FakeS3Request[] = [];
  const stalled = new Set<ServerResponse>();
  let failure: { how: FakeS3Failure; op?: FakeS3Operation; left: number } | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse, entry: FakeS3Request): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://s3');
    const [bucket, ...rest] = url.pathname.slice(1).split('/');
    const key = rest.map(decodeURIComponent).join('/');
    entry.key = key;
    entry.op = operation(req.method ?? 'GET', key, url.searchParams);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const refused = checkSigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers },
      opts,
    );
    if (refused) throw new S3Error(403, refused.code, refused.message);
    if (decodeURIComponent(bucket) !== opts.bucket) {
      throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    }
    if (failure && (!failure.op || failure.op === entry.op)) {
      const how = failure.how;
      if (--failure.left <= 0) failure = null;
      if (how === 'stall') {
        entry.status = 'stalled';
        stalled.add(res);
        return;
      }
      if (how === 'slow-down') throw new S3Error(503, 'SlowDown', 'Please reduce your request rate.');
      throw new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
    }
    const data = payloadOf(req, raw);
    entry.bytes = data.length;
    const q = url.searchParams;
    switch (entry.op) {
      case 'PutObject': {
        objects.set(key, data);
        res.writeHead(200, { etag: `"${md5(data).toString('hex')}"` }).end();
        return;
      }
      case 'CreateMultipartUpload': {
        const uploadId = randomUUID();
        uploads.set(uploadId, { key, parts: new Map() });
        const b = `<Bucket>${xmlEscape(opts.bucket)}</Bucket><Key>${xmlEscape(key)}</Key>`;
        xml(
          res,
          200,
          `<InitiateMultipartUploadResult>${b}<UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        );
        return;
      }
      case 'UploadPart': {
        const upload = uploads.get(q.get('uploadId') ?? '');
        if (!upload || upload.key !== key) throw noSuchUpload();
        const n = Number(q.get('partNumber'));
        if (!Number.isInteger(n) || n < 1 || n > 10000) {
          throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000.');
        }
        upload.parts.set(n, data);
        res.writeHead(200, { etag: `"${md5(data).toString('hex')}"` }).end();
        return;
      }
      case 'CompleteMultipartUpload': {
        const uploadId = q.get('uploadId') ?? '';
        const upload = uploads.get(uploadId);
        if (!upload || upload.key !== key) throw noSuchUpload();
        const listed = [...data.toString('utf8').matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
          n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1])?.[1]),
          etag: /<ETag>(.*?)<\/ETag>/.exec(m[1])?.[1]?.replace(/&quot;/g, '"') ?? '',
        }));
        if (listed.length === 0)
          throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed.');
        const parts: Buffer[] = [];
        for (const [i, { n, etag }] of listed.entries()) {
          const part = upload.parts.get(n);
          if (!part || etag !== `"${md5(part).toString('hex')}"`) {
            throw new S3Error(400, 'InvalidPart', 'One or more of the specified parts could not be found.');
          }
          if (i > 0 && listed[i - 1].n >= n)
            throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
          if (i < listed.length - 1 && part.length < MIN_PART_BYTES) {
            throw new S3Error(
              400,
              'EntityTooSmall',
              'Your proposed upload is smaller than the minimum allowed object size.',
            );
          }
          parts.push(part);
        }
        uploads.delete(uploadId);
        const whole = Buffer.concat(parts);
        objects.set(key, whole);
        const etag = `"${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}"`;
        const b = `<Bucket>${xmlEscape(opts.bucket)}</Bucket><Key>${xmlEscape(key)}</Key>`;
        xml(
          res,
          200,
          `<CompleteMultipartUploadResult>${b}<ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
        );
        return;
      }
      case 'AbortMultipartUpload': {
        if (!uploads.delete(q.get('uploadId') ?? '')) throw noSuchUpload();
        res.writeHead(204).end();
        return;
      }
      case 'GetObject':
      case 'HeadObject': {
        const object = objects.get(key);
        if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
        res.writeHead(200, {
          'content-length': String(object.length),
          'content-type': 'application/octet-stream',
          etag: `"${md5(object).toString('hex')}"`,
          'last-modified': new Date().toUTCString(),
        });
        if (entry.op === 'HeadObject') {
          res.end();
          return;
        }
        // In 64 KiB pieces, with back-pressure, as a real server streams a large object.
        const pieces = function* () {
          for (let at = 0; at < object.length; at += 65536) yield object.subarray(at, at + 65536);
        };
        Readable.from(pieces()).pipe(res);
        return;
      }
      case 'DeleteObject': {
        objects.delete(key);
        res.writeHead(204).end();
        return;
      }
      case 'DeleteObjects': {
        const keys = [...data.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
          m[1].replace(
            /&lt;|&gt;|&quot;|&apos;|&amp;/g,
            (e) => ({ '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&amp;': '&' })[e]!,
          ),
        );
        for (const k of keys) objects.delete(k);
        const quiet = /<Quiet>true<\/Quiet>/.test(data.toString('utf8'));
        const deleted = quiet
          ? ''
          : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
        xml(res, 200, `<DeleteResult>${deleted}</DeleteResult>`);
        return;
      }
      default:
        throw new S3Error(
          501,
          'NotImplemented',
          'A header or query you provided implies functionality that is not implemented.',
        );
    }
  }

  const server = await startLoopbackServer((req, res) => {
    const entry: FakeS3Request = {
      op: 'unknown',
      key: '',
      status: 200,
      bytes: 0,
      payload: String(req.headers['x-amz-content-sha256'] ?? ''),
    };
    log.push(entry);
    handle(req, res, entry).then(
      () => {
        if (entry.status !== 'stalled') entry.status = res.statusCode;
      },
      (err: unknown) => {
        const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', String(err));
        entry.status = e.status;
        if (req.method === 'HEAD') {
          res.writeHead(e.status).end();
          return;
        }
        const requestId = randomUUID();
        res.setHeader('x-amz-request-id', requestId);
        xml(
          res,
          e.status,
          `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>` +
            `<Resource>${xmlEscape(new URL(req.url ?? '/', 'http://s3').pathname)}</Resource>` +
            `<RequestId>${requestId}</RequestId></Error>`,
        );
      },
    );
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    bucket: opts.bucket,
    keys: () => [...objects.keys()].sort(),
    object: (key) => objects.get(key),
    openUploads: () => uploads.size,
    requests: () => [...log],
    fail(how, o = {}) {
      failure = { how, op: o.op, left: o.times ?? Infinity };
    },
    heal() {
      failure = null;
    },
    async close() {
      for (const res of stalled) res.destroy();
      await server.shut();
    },
  };
}

function noSuchUpload(): S3Error {
  return new S3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid.',
  );
}
