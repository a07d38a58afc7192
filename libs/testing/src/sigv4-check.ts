import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What S3 answers a request it cannot authenticate: its code and message. */
export interface SigV4Refusal {
  code: 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'AuthorizationHeaderMalformed';
  message: string;
}

export interface SigV4Request {
  method: string;
  /** The request target as sent: path (still percent-encoded) and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** RFC 3986 strict encoding, as SigV4 wants for the query (encodeURIComponent leaves !'()* alone). */
function strict(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const key = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, '%20'));
      return [strict(key), strict(value)];
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

/**
 * Checks a request's AWS Signature Version 4 header-based authentication as S3 does: the access key must be
 * the one configured, and the signature must be the one its secret gives over the canonical request (method,
 * path as sent, sorted query, the signed headers, the payload hash the client declared in
 * x-amz-content-sha256). Answers null when the request is authentic.
 */
export function checkSigV4(
  req: SigV4Request,
  credentials: { accessKeyId: string; secretAccessKey: string },
): SigV4Refusal | null {
  const auth = headerValue(req.headers, 'authorization');
  if (auth === '') return { code: 'AccessDenied', message: 'Access Denied' };
  const m = AUTH.exec(auth);
  if (!m) {
    return {
      code: 'AuthorizationHeaderMalformed',
      message: 'The authorization header is malformed; it must be AWS4-HMAC-SHA256 for the s3 service.',
    };
  }
  const [, accessKeyId, date, region, signedHeaders, signature] = m;
  if (accessKeyId !== credentials.accessKeyId) {
    return {
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
    };
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256');
  const names = signedHeaders.split(';');
  if (!amzDate.startsWith(date) || payloadHash === '' || !names.includes('host')) {
    return {
      code: 'AuthorizationHeaderMalformed',
      message: 'x-amz-date, x-amz-content-sha256 and a signed host header are required.',
    };
  }
  const q = req.url.indexOf('?');
  const canonical = [
    req.method,
    q < 0 ? req.url : req.url.slice(0, q),
    canonicalQuery(q < 0 ? '' : req.url.slice(q + 1)),
    names.map((n) => `${n}:${headerValue(req.headers, n)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), 's3'),
    'aws4_request',
  );
  const want = Buffer.from(hmac(key, toSign).toString('hex'));
  if (!timingSafeEqual(want, Buffer.from(signature))) {
    return {
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return null;
}
