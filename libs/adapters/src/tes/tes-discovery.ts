import { AdapterError } from '../site-adapter';
import { statusFailure, type HttpReply, type TesTarget } from '../http/site-http';
import { parseJson, parseServiceInfo, type ServiceInfo } from './tes-responses';

/** Where TES servers mount the API: the spec's path first, then the one Funnel and TESK also answer. */
const API_PATHS = ['/ga4gh/tes/v1', '/v1'] as const;

export type Sender = (
  target: TesTarget,
  method: 'GET' | 'POST',
  url: string,
  json?: unknown,
) => Promise<HttpReply>;

export interface ServiceInfoReading {
  base: string;
  info: ServiceInfo;
  latencyMs: number;
}

type Attempt = { ok: true; reading: ServiceInfoReading } | { ok: false; error: AdapterError };

/** `GET /ga4gh/tes/v1/tasks`: names a call in messages without the host or any user info. */
export function describeCall(method: string, url: string): string {
  return `${method} ${new URL(url).pathname}`;
}

function isApiBase(root: string): boolean {
  return API_PATHS.some((path) => root.endsWith(path));
}

/**
 * Finds the API base of each site: the URL itself when it already names one, else the first candidate path
 * whose service-info answers. The result is only a cache: a restart, or a base that stops answering TES,
 * sends us looking again.
 */
export class TesDiscovery {
  private readonly bases = new Map<string, string>();

  constructor(private readonly send: Sender) {}

  async base(target: TesTarget): Promise<string> {
    if (isApiBase(target.root)) return target.root;
    return this.bases.get(target.key) ?? (await this.discover(target)).base;
  }

  /** A fresh service-info reading, for probes: from the known base, looking again if it stopped being TES. */
  async read(target: TesTarget): Promise<ServiceInfoReading> {
    if (isApiBase(target.root)) return this.settle(await this.attempt(target, target.root));
    const cached = this.bases.get(target.key);
    if (cached) {
      const attempt = await this.attempt(target, cached);
      if (attempt.ok || attempt.error.kind !== 'protocol_error') return this.settle(attempt);
      this.bases.delete(target.key);
    }
    return this.discover(target);
  }

  private async discover(target: TesTarget): Promise<ServiceInfoReading> {
    const failures: AdapterError[] = [];
    for (const path of API_PATHS) {
      const attempt = await this.attempt(target, target.root + path);
      if (attempt.ok) {
        this.bases.set(target.key, attempt.reading.base);
        return attempt.reading;
      }
      failures.push(attempt.error);
    }
    // A candidate that answered 5xx is probably the API, broken for now: worth retrying, unlike a site
    // where nothing answers like TES.
    const broken = failures.find((f) => f.kind === 'unreachable');
    if (broken) throw broken;
    throw new AdapterError(
      'protocol_error',
      `no TES service-info at /ga4gh/tes/v1 or /v1 under the site URL (${failures.map((f) => f.message).join('; ')})`.slice(
        0,
        500,
      ),
    );
  }

  private settle(attempt: Attempt): ServiceInfoReading {
    if (attempt.ok) return attempt.reading;
    throw attempt.error;
  }

  /**
   * One candidate. Throws what no other path could cure (no connection, credentials refused); resolves with
   * the failure otherwise, so the caller can try the next path.
   */
  private async attempt(target: TesTarget, base: string): Promise<Attempt> {
    const url = `${base}/service-info`;
    const what = describeCall('GET', url);
    const started = performance.now();
    const reply = await this.send(target, 'GET', url);
    const latencyMs = Math.max(0, Math.round(performance.now() - started));
    if (reply.status !== 200) {
      const error = statusFailure(reply, what, target.secrets);
      if (error.kind === 'auth_failed') throw error;
      return { ok: false, error };
    }
    try {
      const info = parseServiceInfo(parseJson(reply.text, what, target.secrets), what);
      return { ok: true, reading: { base, info, latencyMs } };
    } catch (err) {
      if (err instanceof AdapterError) return { ok: false, error: err };
      throw err;
    }
  }
}
