import { request, type Dispatcher } from 'undici';
import { AdapterError, type AdapterSite } from '../site-adapter';
import { oneLine } from '../http/bounded-text';
import { boundedReply, siteHttpUrl, transportReason, type HttpReply } from '../http/site-http';

/**
 * Pulsar takes every parameter, its token included, in the query string (pulsar-api.md). A URL is therefore
 * never shown anywhere: messages name a call by method and path alone.
 */
export interface PulsarTarget {
  /** Site URL without query or trailing slash, plus `/managers/{name}` when the site names a manager. */
  base: string;
  /** Cache key: the same site id at another URL or manager is another target. */
  key: string;
  token?: string;
  secrets: string[];
}

export interface PulsarCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below the manager, e.g. `/jobs/J/status`. */
  path: string;
  query?: Record<string, string>;
  /** Raw bytes (file uploads only: Pulsar reads nothing else from a body). */
  body?: Buffer;
  timeoutMs: number;
  maxBodyBytes: number;
  dispatcher?: Dispatcher;
}

export type PulsarReply = HttpReply;

export interface PulsarStream {
  status: number;
  length: number | null;
  body: AsyncIterable<Uint8Array> & { dump(): Promise<void> };
}

export function pulsarTarget(site: AdapterSite): PulsarTarget {
  const url = siteHttpUrl(site, 'Pulsar REST');
  if (url.username || url.password) {
    throw new AdapterError('protocol_error', 'a Pulsar site URL must not carry user info; store a token');
  }
  url.search = '';
  url.hash = '';
  let base = url.toString().replace(/\/+$/, '');
  if (site.pulsarManager) base += `/managers/${encodeURIComponent(site.pulsarManager)}`;
  const token = site.credentials?.token || undefined;
  return { base, key: `${site.id} ${base}`, token, secrets: token ? [token] : [] };
}

export function describe(method: string, path: string): string {
  return `${method} ${path}`;
}

function urlOf(target: PulsarTarget, path: string, query: Record<string, string> = {}): string {
  const params = new URLSearchParams(query);
  if (target.token) params.set('private_token', target.token);
  const qs = params.toString();
  return `${target.base}${path}${qs ? `?${qs}` : ''}`;
}

/**
 * One exchange with its whole answer as text (bounded). Resolves with any status; rejects only with
 * AdapterError: `unreachable` when no answer came, `protocol_error` for an oversized 2xx body.
 */
export async function pulsarCall(target: PulsarTarget, call: PulsarCall): Promise<PulsarReply> {
  const what = describe(call.method, call.path);
  const headers: Record<string, string> = { accept: 'application/json, text/html' };
  if (call.body !== undefined) {
    // Pulsar's own client always sends a length: WebOb behind older servers rejects chunked bodies.
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(call.body.length);
  }
  try {
    const res = await request(urlOf(target, call.path, call.query), {
      method: call.method,
      headers,
      body: call.body,
      dispatcher: call.dispatcher,
      signal: AbortSignal.timeout(call.timeoutMs),
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
    return await boundedReply(res, call.maxBodyBytes, what);
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    throw new AdapterError('unreachable', `${what}: ${transportReason(err, call.timeoutMs)}`);
  }
}

/** A download whose body the caller streams on; the caller must consume or dump it. */
export async function pulsarDownload(
  target: PulsarTarget,
  path: string,
  query: Record<string, string>,
  opts: { timeoutMs: number; stallMs: number; dispatcher?: Dispatcher },
): Promise<PulsarStream> {
  const what = describe('GET', path);
  try {
    const res = await request(urlOf(target, path, query), {
      method: 'GET',
      dispatcher: opts.dispatcher,
      signal: AbortSignal.timeout(opts.timeoutMs),
      headersTimeout: opts.stallMs,
      bodyTimeout: opts.stallMs,
    });
    const header = res.headers['content-length'];
    const length = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : null;
    return { status: res.statusCode, length, body: res.body };
  } catch (err) {
    throw new AdapterError('unreachable', `${what}: ${transportReason(err, opts.stallMs)}`);
  }
}

/** An answer the caller did not expect, as one of the contract's failure kinds. */
export function pulsarFailure(
  reply: { status: number; text?: string },
  what: string,
  secrets: string[],
): AdapterError {
  const { status } = reply;
  if (status === 401 || status === 403) {
    return new AdapterError('auth_failed', `${what}: HTTP ${status}, the site refused our token`);
  }
  if (status >= 500 || status === 408 || status === 429) {
    return new AdapterError('unreachable', `${what}: HTTP ${status}`);
  }
  const said = reply.text ? oneLine(reply.text, 200, secrets) : '';
  return new AdapterError('protocol_error', `${what}: unexpected HTTP ${status}${said ? `: ${said}` : ''}`);
}
