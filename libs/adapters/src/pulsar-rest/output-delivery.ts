import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
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
}

/**
 * Reading from Pulsar failed mid-way: the site, not the destination, is at fault, and the next status round may
 * succeed. Any other failure is the destination's.
 */
export class SourceFailure extends Error {}

export class DeliveryFailure extends Error {}

/** Streams one output to its destination and answers the number of bytes written. */
export async function deliver(
  source: OutputSource,
  target: OutputTarget,
  fileName: string,
  opts: DeliveryOptions,
): Promise<number> {
  const counter = { bytes: 0 };
  const counted = countBytes(source.body, counter);
  switch (target.kind) {
    case 'file':
      await writeFile(counted, target.path, target.root);
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

async function* countBytes(
  body: AsyncIterable<Uint8Array>,
  counter: { bytes: number },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) {
      counter.bytes += chunk.length;
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
  // Without a length undici sends the body chunked, which some servers refuse; Pulsar gives us one.
  if (length !== null) headers['content-length'] = String(length);
  const what = `${method} ${describeUrl(url)}`;
  let status: number;
  try {
    const res = await request(target, {
      method,
      headers,
      body,
      dispatcher: opts.dispatcher,
      signal: AbortSignal.timeout(opts.transferTimeoutMs),
      headersTimeout: opts.stallMs,
      bodyTimeout: opts.stallMs,
    });
    status = res.statusCode;
    await res.body.dump();
  } catch (err) {
    if (err instanceof SourceFailure) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof SourceFailure) throw cause;
    throw new DeliveryFailure(`${what}: ${transportReason(err, opts.transferTimeoutMs)}`);
  }
  if (status < 200 || status >= 300) throw new DeliveryFailure(`${what}: HTTP ${status}`);
}

/**
 * Writes beside the destination and renames, so a reader never sees half a file. The real path of the
 * destination's folder is checked against the root again, so a symbolic link cannot lead outside it.
 */
async function writeFile(body: AsyncIterable<Uint8Array>, path: string, root: string): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
    const [realDir, realRoot] = await Promise.all([realpath(dir), realpath(root)]);
    if (realDir !== realRoot && !realDir.startsWith(realRoot === sep ? realRoot : `${realRoot}${sep}`)) {
      throw new DeliveryFailure(`file://${path}: the folder leads outside the file root`);
    }
  } catch (err) {
    if (err instanceof DeliveryFailure) throw err;
    throw new DeliveryFailure(`file://${path}: ${fsReason(err)}`);
  }
  const partial = `${path}.part-${randomBytes(6).toString('hex')}`;
  try {
    await pipeline(Readable.from(body), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof SourceFailure) throw err;
    throw new DeliveryFailure(`file://${path}: ${fsReason(err)}`);
  }
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `cannot write (${code})` : 'cannot write';
}
