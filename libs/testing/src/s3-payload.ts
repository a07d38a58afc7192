import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';

/** An error as S3 answers it: HTTP status, code and message of its XML body. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest();

/**
 * Undoes `Content-Encoding: aws-chunked` (what the SDK sends for streaming uploads with flexible checksums or
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailers>\r\n`.
 */
function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Map<string, string> } {
  const parts: Buffer[] = [];
  const trailers = new Map<string, string>();
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new S3Error(400, 'IncompleteBody', 'The aws-chunked body ends inside a chunk header.');
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new S3Error(400, 'InvalidRequest', 'A chunk header has no size.');
    at = eol + 2;
    if (size === 0) break;
    parts.push(body.subarray(at, at + size));
    at += size + 2;
  }
  for (const line of body.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { data: Buffer.concat(parts), trailers };
}

/** The body as stored, after checking every digest the client sent, as S3 does. */
export function payloadOf(req: IncomingMessage, raw: Buffer): Buffer {
  const declared = String(req.headers['x-amz-content-sha256'] ?? '');
  let data = raw;
  let trailers = new Map<string, string>();
  if (declared.startsWith('STREAMING-')) {
    ({ data, trailers } = decodeAwsChunked(raw));
    const decoded = Number(req.headers['x-amz-decoded-content-length']);
    if (decoded !== data.length) {
      throw new S3Error(
        400,
        'IncompleteBody',
        'You did not provide the number of bytes specified by the header.',
      );
    }
  } else if (/^[0-9a-f]{64}$/.test(declared)) {
    if (createHash('sha256').update(raw).digest('hex') !== declared) {
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
  } else if (declared !== 'UNSIGNED-PAYLOAD') {
    throw new S3Error(
      400,
      'InvalidArgument',
      'x-amz-content-sha256 must be a SHA-256 or a known payload mode.',
    );
  }
  const contentMd5 = req.headers['content-md5'];
  if (typeof contentMd5 === 'string' && md5(data).toString('base64') !== contentMd5) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const crc = trailers.get('x-amz-checksum-crc32') ?? req.headers['x-amz-checksum-crc32'];
  if (typeof crc === 'string') {
    const want = Buffer.alloc(4);
    want.writeUInt32BE(crc32(data));
    if (want.toString('base64') !== crc) {
      throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
    }
  }
  return data;
}
