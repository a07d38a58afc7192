import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
import type { DeliveryProgress } from '../site-adapter';
import { withKnownLength } from './known-length';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request, type Dispatcher } from 'undici';
import { transportReason } from '../http/site-http';
import { describeUrl, type OutputTarget } from '../pulsar/output-targets';

/** The bytes of one output as Pulsar serves them. */
export interface OutputSource {
  body: AsyncIterable<Uint8Array>;
  /** Content-Length of Pulsar's answer, when it sent one. */
  length: number | null;
}

export interface DeliveryOptions {
  /** Bounds the whole transfer; a stalled socket is caught sooner by `stallMs`. */
  transferTimeoutMs: number;
  stallMs: number;
  dispatcher?: Dispatcher;
  /** Where an output served without a length is buffered before it is sent (default: the OS's temp folder). */
  tempDir?: string;
  progress?: DeliveryProgress;
}

/**
 * Reading from Pulsar failed mid-way: the site, not the destination, is at fault, and the next status round may
 * succeed. Any other failure is the destination's.
 */
export class SourceFailure extends Error {}

/** The destination failed or refused the output: the broker could not deliver it there. */
export class DeliveryFailure extends Error {
  constructor(
    /** The destination as it may be shown: no user info, no query. */
    readonly destination: string,
    readonly reason: string,
  ) {
    super(`${destination}: ${reason}`);
  }
}

/**
 * Streams one output to its destination and answers the number of bytes written. An http(s) destination is
 * always sent a Content-Length (S3 pre-signed URLs answer 411 without one): an output the site serves without a
 * length (real Pulsar serves chunked) is first buffered in a temporary file.
 */
export async function deliver(
  raw: OutputSource,
  target: OutputTarget,
  fileName: string,
  opts: DeliveryOptions,
): Promise<number> {
  if (target.kind === 'file') return deliverTo(raw, target, fileName, opts);
  let known: Awaited<ReturnType<typeof withKnownLength>>;
  try {
    known = await withKnownLength(
      { body: sourceErrors(raw.body, opts.progress), length: raw.length },
      opts.tempDir,
      opts.progress?.signal,
    );
  } catch (err) {
    if (err instanceof SourceFailure) throw err;
    if (opts.progress?.signal?.aborted) throw new DeliveryAborted('the delivery was stopped');
    throw new DeliveryFailure('a temporary file on the broker', fsReason(err));
  }
  try {
    return await deliverTo(known.source, target, fileName, opts);
  } finally {
    await known.dispose();
  }
}

async function deliverTo(
  source: OutputSource,
  target: OutputTarget,
  fileName: string,
  opts: DeliveryOptions,
): Promise<number> {
  const counter = { bytes: 0 };
  const counted = countBytes(source.body, counter, opts.progress);
  switch (target.kind) {
    case 'file':
      await writeFile(counted, target.path, target.root, () => {
        // Checked before the file takes its name: a short read must not leave a truncated output in place.
        if (source.length !== null && counter.bytes !== source.length) {
          throw new SourceFailure(`the site sent ${counter.bytes} of ${source.length} bytes`);
        }
      });
      break;
    case 'put':
      await send(target.url, 'PUT', Readable.from(counted), source.length, {}, opts);
      break;
    case 'galaxy': {
      const boundary = `constellation-${randomBytes(12).toString('hex')}`;
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName(fileName)}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const body = Readable.from(framed(head, counted, tail));
      const length = source.length === null ? null : head.length + source.length + tail.length;
      await send(
        target.url,
        'POST',
        body,
        length,
        {
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        opts,
      );
      break;
    }
  }
  if (source.length !== null && counter.bytes !== source.length) {
    throw new SourceFailure(`the site sent ${counter.bytes} of ${source.length} bytes`);
  }
  return counter.bytes;
}

/** Failures reading from the site are the site's, whoever reads; buffering is progress too. */
async function* sourceErrors(
  body: AsyncIterable<Uint8Array>,
  progress?: DeliveryProgress,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) {
      progress?.onBytes?.(chunk.length);
      yield chunk;
    }
  } catch (err) {
    throw new SourceFailure(`reading from the site failed (${transportReason(err, 0)})`);
  }
}

async function* countBytes(
  body: AsyncIterable<Uint8Array>,
  counter: { bytes: number },
  progress?: DeliveryProgress,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) {
      counter.bytes += chunk.length;
      progress?.onBytes?.(chunk.length);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof SourceFailure) throw err;
    throw new SourceFailure(`reading from the site failed (${transportReason(err, 0)})`);
  }
}

async function* framed(
  head: Buffer,
  body: AsyncIterable<Uint8Array>,
  tail: Buffer,
): AsyncGenerator<Uint8Array> {
  yield head;
  yield* body;
  yield tail;
}

/** A file name for a Content-Disposition header: no quotes, no line breaks, no non-ASCII. */
function safeName(name: string): string {
  return basename(name).replace(/[^\x20-\x7e]|["\\]/g, '_') || 'output';
}

async function send(
  url: URL,
  method: 'PUT' | 'POST',
  body: Readable,
  length: number | null,
  extraHeaders: Record<string, string>,
  opts: DeliveryOptions,
): Promise<void> {
  const target = new URL(url.toString());
  const headers: Record<string, string> = { ...extraHeaders };
  if (target.username || target.password) {
    // undici refuses user info in a URL; it is the caller's way of giving Basic credentials.
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  headers['content-type'] ??= 'application/octet-stream';
  // Without a length undici sends the body chunked, which some servers refuse (411); deliver() ensures one.
  if (length !== null) headers['content-length'] = String(length);
  const destination = describeUrl(url);
  const timeout = AbortSignal.timeout(opts.transferTimeoutMs);
  const signal = opts.progress?.signal ? AbortSignal.any([timeout, opts.progress.signal]) : timeout;
  let status: number;
  try {
    const res = await request(target, {
      method,
      headers,
      body,
      dispatcher: opts.dispatcher,
      signal,
      headersTimeout: opts.stallMs,
      bodyTimeout: opts.stallMs,
    });
    status = res.statusCode;
    await res.body.dump();
  } catch (err) {
    if (err instanceof SourceFailure) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof SourceFailure) throw cause;
    if (opts.progress?.signal?.aborted) throw new DeliveryAborted('the delivery was stopped');
    throw new DeliveryFailure(
      destination,
      `${method} failed: ${transportReason(err, opts.transferTimeoutMs)}`,
    );
  }
  if (status < 200 || status >= 300)
    throw new DeliveryFailure(destination, `${method} answered HTTP ${status}`);
}

/** The caller stopped the delivery (its claim ran out, or it shuts down): nobody is at fault. */
export class DeliveryAborted extends Error {}

/**
 * Writes beside the destination and renames, so a reader never sees half a file. The real path of the
 * destination's folder is checked against the root again, so a symbolic link cannot lead outside it.
 */
async function writeFile(
  body: AsyncIterable<Uint8Array>,
  path: string,
  root: string,
  beforeRename: () => void,
): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
    const [realDir, realRoot] = await Promise.all([realpath(dir), realpath(root)]);
    if (realDir !== realRoot && !realDir.startsWith(realRoot === sep ? realRoot : `${realRoot}${sep}`)) {
      throw new DeliveryFailure(`file://${path}`, 'the folder leads outside the file root');
    }
  } catch (err) {
    if (err instanceof DeliveryFailure) throw err;
    throw new DeliveryFailure(`file://${path}`, fsReason(err));
  }
  const partial = `${path}.part-${randomBytes(6).toString('hex')}`;
  try {
    await pipeline(Readable.from(body), createWriteStream(partial, { flags: 'wx' }));
    beforeRename();
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof SourceFailure) throw err;
    throw new DeliveryFailure(`file://${path}`, fsReason(err));
  }
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `cannot write (${code})` : 'cannot write';
}
