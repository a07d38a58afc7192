import { constants } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BrokerError, ErrorCode } from '@constellation/common';

/** The parser's own message quotes a slice of the body, which may hold a credential: only its position. */
function notJson(parserMessage: string): BrokerError {
  const m = /position (\d+)/.exec(parserMessage);
  return new BrokerError(
    ErrorCode.BadRequest,
    `request body is not valid JSON${m ? ` (at position ${m[1]})` : ''}`,
    [{ path: '', reason: 'is not valid JSON' }],
  );
}

/** The charset parameter of a Content-Type header, lower-cased; utf-8 when there is none. */
function charsetOf(contentType: string | undefined): string {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  return m?.[1].toLowerCase() ?? 'utf-8';
}

const INFLATE: Record<string, (b: Buffer, o: { maxOutputLength: number }) => Buffer> = {
  identity: (b) => b,
  gzip: gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/** The body's bytes, decompressed as its Content-Encoding says, at most `limit` of them. */
function inflated(req: FastifyRequest, raw: Buffer, limit: number): Buffer {
  const encoding = String(req.headers['content-encoding'] || 'identity').toLowerCase();
  const inflate = INFLATE[encoding];
  if (inflate === undefined) {
    throw new BrokerError(ErrorCode.UnsupportedMediaType, `unsupported content encoding "${encoding}"`);
  }
  try {
    // zlib refuses a maximum past the largest Buffer (a limit set in GB, say).
    return inflate(raw, { maxOutputLength: Math.min(limit, constants.MAX_LENGTH) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BrokerError(ErrorCode.PayloadTooLarge, `request body exceeds the limit of ${limit} bytes`);
    }
    throw new BrokerError(ErrorCode.BadRequest, `the body is not valid ${encoding} data`);
  }
}

/** The body as text in its charset (UTF-8 or UTF-16), without a byte-order mark. */
function decoded(req: FastifyRequest, bytes: Buffer): string {
  let charset = charsetOf(req.headers['content-type']);
  // Plain utf-16 takes its byte order from the byte-order mark; TextDecoder would assume little-endian.
  if (charset === 'utf-16' && bytes[0] === 0xfe && bytes[1] === 0xff) charset = 'utf-16be';
  let decoder: TextDecoder | undefined;
  try {
    if (charset.startsWith('utf-')) decoder = new TextDecoder(charset, { fatal: false });
  } catch {
    // A UTF the platform cannot decode (utf-32, say): refused below like any other charset.
  }
  if (decoder === undefined) {
    throw new BrokerError(ErrorCode.UnsupportedMediaType, `unsupported charset "${charset.toUpperCase()}"`);
  }
  return decoder.decode(bytes); // TextDecoder drops the BOM
}

/**
 * Request bodies as the broker read them when it ran on Express (body-parser's json(), strict): JSON for
 * application/json and application/*+json, in a UTF charset, compressed or not (gzip, deflate, br), whose
 * top level is an object or an array; an empty body is {}. The limit applies to the body once
 * decompressed too. Every other content type is left unread for its handler (the job-files endpoint reads
 * multipart uploads from the raw stream), so a TES create without JSON gets the validator's precise message.
 */
export function registerJsonBodies(fastify: FastifyInstance, limit: number): void {
  const parse = (req: FastifyRequest, raw: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    let text: string;
    try {
      text = decoded(req, inflated(req, raw, limit));
    } catch (err) {
      return done(err as Error);
    }
    if (text.length === 0) return done(null, {});
    const first = /\S/.exec(text)?.[0];
    if (first !== '{' && first !== '[') {
      const at = first === undefined ? text.length : text.indexOf(first);
      return done(notJson(`no JSON object or array at position ${at}`));
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(notJson((err as Error).message));
    }
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, parse);
  fastify.addContentTypeParser(/^application\/[^;]*\+json/, { parseAs: 'buffer' }, parse);
  fastify.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
}
