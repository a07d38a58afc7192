import { request, type Dispatcher } from 'undici';
import { readAtMost } from '@constellation/common';
import { AdapterError, type AdapterSite } from '../site-adapter';
import { oneLine } from './bounded-text';

/** Where and how to reach one TES site: its URL without credentials, and the Authorization header to send. */
export interface TesTarget {
  /** The site URL without user info, query or trailing slash. */
  root: string;
  /** Cache key: the same site id at another URL is another target. */
  key: string;
  authorization?: string;
  /** Strings that must never appear in a message we produce. */
  secrets: string[];
}

export interface HttpReply {
  status: number;
  /** The whole body for 2xx answers; a bounded prefix otherwise (enough for an error message). */
  text: string;
}

export interface SendOptions {
  method: 'GET' | 'POST';
  url: string;
  /** Names the call in messages, e.g. `GET /tasks/abc`: never a full URL, which may carry user info. */
  what: string;
  json?: unknown;
  timeoutMs: number;
  maxBodyBytes: number;
  dispatcher?: Dispatcher;
}

const ERROR_BODY_BYTES = 8 * 1024;

/** The site's URL, which must parse and be http(s); `kind` names the site type in the message. */
export function siteHttpUrl(site: AdapterSite, kind: string): URL {
  let url: URL;
  try {
    url = new URL(site.url ?? '');
  } catch {
    throw new AdapterError('protocol_error', 'the site URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AdapterError('protocol_error', `a ${kind} site needs an http(s) URL`);
  }
  return url;
}

/**
 * An answer's body as text: whole for a 2xx answer up to `maxBodyBytes` (larger is a `protocol_error`), the
 * first 8 KiB of any other (enough for an error message). Leaving the loop destroys the stream, so an endless
 * body cannot hold the socket.
 */
export async function boundedReply(
  res: Dispatcher.ResponseData,
  maxBodyBytes: number,
  what: string,
): Promise<HttpReply> {
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  const limit = ok ? maxBodyBytes : ERROR_BODY_BYTES;
  const { bytes, more } = await readAtMost(res.body as AsyncIterable<Buffer>, limit);
  if (more && ok) throw new AdapterError('protocol_error', `${what}: response larger than ${limit} bytes`);
  return { status: res.statusCode, text: bytes.toString('utf8') };
}

/**
 * Galaxy's habit of carrying credentials in the URL (`https://name:token@host/`) is honoured: the user info
 * is removed from the URL (undici refuses it, and it must not reach a log) and used as Basic credentials when
 * the site has none of its own.
 */
export function targetOf(site: AdapterSite): TesTarget {
  const url = siteHttpUrl(site, 'TES');
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const root = url.toString().replace(/\/+$/, '');

  const creds = site.credentials;
  const secrets: string[] = [];
  let authorization: string | undefined;
  if (creds?.token) {
    authorization = `Bearer ${creds.token}`;
    secrets.push(creds.token);
  } else if (creds?.username !== undefined && creds.password !== undefined) {
    authorization = basic(creds.username, creds.password);
    secrets.push(creds.password);
  } else if (urlUser) {
    authorization = basic(urlUser, urlPassword);
    secrets.push(urlPassword);
  }
  if (authorization) secrets.push(authorization.slice(authorization.indexOf(' ') + 1));
  return { root, key: `${site.id} ${root}`, authorization, secrets };
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * One HTTP exchange. Resolves with any status; rejects only with AdapterError: `unreachable` when no answer
 * came (refused, reset, timed out), `protocol_error` when a 2xx body is larger than we accept.
 */
export async function send(target: TesTarget, opts: SendOptions): Promise<HttpReply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.authorization) headers.authorization = target.authorization;
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  }
  try {
    const res = await request(opts.url, {
      method: opts.method,
      headers,
      body,
      dispatcher: opts.dispatcher,
      // The signal bounds the whole exchange, body included; the two timeouts only catch a stalled socket.
      signal: AbortSignal.timeout(opts.timeoutMs),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    return await boundedReply(res, opts.maxBodyBytes, opts.what);
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    throw new AdapterError('unreachable', `${opts.what}: ${transportReason(err, opts.timeoutMs)}`, {
      // Only a POST creates anything; a GET that timed out leaves nothing behind.
      inDoubt: opts.method === 'POST' && mayHaveArrived(err),
    });
  }
}

/** Failures that happen before a request can reach the site: no connection was ever made. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** False only when the failure proves the request never reached the site (no connection, TLS refused). */
export function mayHaveArrived(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? e?.cause?.code;
  if (typeof code !== 'string') return true;
  return !NEVER_SENT.has(code) && !/^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code);
}

/** A short reason from an error's code alone: undici's messages may quote the URL. */
export function transportReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } } | null;
  const name = e?.name;
  const code = e?.code ?? e?.cause?.code;
  if (name === 'TimeoutError' || name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'connection closed by the site';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return `timed out after ${timeoutMs} ms`;
    default:
      if (typeof code === 'string' && /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code)) {
        return `TLS error (${code})`;
      }
      return typeof code === 'string' ? `connection failed (${oneLine(code, 40)})` : 'connection failed';
  }
}

/** The remote's own words from an error body: TES defines no error shape, so common fields, then raw text. */
export function remoteMessage(text: string, secrets: readonly string[], maxChars = 300): string {
  let message = text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const fields = parsed as Record<string, unknown>;
      const found = ['message', 'msg', 'error', 'detail']
        .map((k) => fields[k])
        .find((v) => typeof v === 'string');
      if (typeof found === 'string') message = found;
    }
  } catch {
    // Not JSON: the raw text is the message.
  }
  return oneLine(message, maxChars, secrets);
}

/**
 * Maps an answer the caller did not expect to the contract's failure kinds: credentials refused, the site
 * is failing or asking us to back off (retry later), or an answer outside TES (alarm).
 */
export function statusFailure(reply: HttpReply, what: string, secrets: readonly string[]): AdapterError {
  const { status } = reply;
  if (status === 401 || status === 403) {
    return new AdapterError('auth_failed', `${what}: HTTP ${status}, the site refused our credentials`);
  }
  if (status >= 500 || status === 408 || status === 429) {
    return new AdapterError('unreachable', `${what}: HTTP ${status}`);
  }
  const said = remoteMessage(reply.text, secrets, 200);
  return new AdapterError('protocol_error', `${what}: unexpected HTTP ${status}${said ? `: ${said}` : ''}`);
}
