import type { IncomingMessage, ServerResponse } from 'node:http';
import { TES_STATES, type TesState } from '@constellation/tes';
import { invalid, SimHttpError } from './sim-error';
import type { SimulatedSite, TesView } from './simulated-site';

/** The spec's base path first, then the one Funnel and TESK also answer (the broker tries both). */
const BASES = ['/ga4gh/tes/v1', '/v1'];
const VIEWS: readonly TesView[] = ['MINIMAL', 'BASIC', 'FULL'];
const STATES: readonly TesState[] = TES_STATES;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimHttpError(413, 'PAYLOAD_TOO_LARGE', 'request body over 8 MiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SimHttpError(400, 'INVALID_JSON', 'the request body is not JSON');
  }
}

function serviceInfo(site: SimulatedSite): Record<string, unknown> {
  return {
    id: `eu.constellation.sim.${site.slug}`,
    name: `Simulated TES site ${site.slug}`,
    type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
    description: 'Constellation sim-site: runs each task for a modelled time instead of executing it',
    organization: { name: 'Constellation simulation', url: 'https://github.com/' },
    version: 'sim-1',
    // No storage listed: the site fetches any scheme (it fetches nothing at all).
    storage: [],
  };
}

function viewOf(q: URLSearchParams): TesView {
  const raw = q.get('view') ?? 'MINIMAL';
  if (!VIEWS.includes(raw as TesView)) throw invalid('view', `must be one of ${VIEWS.join(', ')}`);
  return raw as TesView;
}

function listQuery(q: URLSearchParams): Parameters<SimulatedSite['list']>[0] {
  const keys = q.getAll('tag_key');
  const values = q.getAll('tag_value');
  if (values.length > keys.length) throw invalid('tag_value', 'has more entries than tag_key');
  const state = q.get('state') ?? undefined;
  if (state !== undefined && !STATES.includes(state as TesState))
    throw invalid('state', 'must be a TES state such as RUNNING');
  const rawSize = q.get('page_size');
  let pageSize: number | undefined;
  if (rawSize !== null) {
    if (!/^\d+$/.test(rawSize) || Number(rawSize) < 1 || Number(rawSize) >= 2048)
      throw invalid('page_size', 'must be an integer from 1 to 2047');
    pageSize = Number(rawSize);
  }
  return {
    namePrefix: q.get('name_prefix') ?? undefined,
    state: state as TesState | undefined,
    // Zipped by position; a key without a value matches any value (TES 1.1 ListTasks).
    tags: keys.map((k, i) => [k, values[i] ?? '']),
    pageSize,
    pageToken: q.get('page_token') ?? undefined,
    view: viewOf(q),
  };
}

/** Routes one request of the TES 1.1 API to the site; every failure answers with the error body. */
export async function handleTes(
  site: SimulatedSite,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://sim');
    const base = BASES.find((b) => url.pathname === b || url.pathname.startsWith(`${b}/`));
    if (base === undefined) throw new SimHttpError(404, 'NOT_FOUND', `no route ${url.pathname}`);
    const route = url.pathname.slice(base.length);
    const method = req.method ?? 'GET';
    if (method === 'GET' && (route === '/service-info' || route === '/tasks/service-info'))
      return sendJson(res, 200, serviceInfo(site));
    if (route === '/tasks' && method === 'POST') return sendJson(res, 200, site.create(await readJson(req)));
    if (route === '/tasks' && method === 'GET')
      return sendJson(res, 200, site.list(listQuery(url.searchParams)));
    const cancel = /^\/tasks\/([^/]+):cancel$/.exec(route);
    if (cancel && method === 'POST') {
      site.cancel(decodeURIComponent(cancel[1]));
      return sendJson(res, 200, {});
    }
    const one = /^\/tasks\/([^/:]+)$/.exec(route);
    if (one && method === 'GET')
      return sendJson(res, 200, site.get(decodeURIComponent(one[1]), viewOf(url.searchParams)));
    throw new SimHttpError(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`);
  } catch (err) {
    if (err instanceof SimHttpError) return sendJson(res, err.status, err.body());
    sendJson(res, 500, { code: 'INTERNAL', message: 'simulated site failed' });
    throw err;
  }
}
