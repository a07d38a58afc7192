import type { Dispatcher } from 'undici';
import { AdapterError } from '../site-adapter';
import { oneLine } from '../http/bounded-text';
import { describe, pulsarCall, pulsarFailure, type PulsarTarget } from './pulsar-http';

/**
 * A job id nobody submits: the broker's are `${taskId}-${attempt}`, Galaxy's are numbers. Pulsar answers
 * the status of an unknown job as `lost` (HTTP 200) after checking the token, and reads nothing but the
 * absent job directory to do so (manager_endpoint_util.status_dict; stateful.get_status since 0.14.0).
 */
export const PROBE_JOB_ID = 'constellation-probe';

/** The route that answered a site's last probe. */
export type PulsarProbeRoute = 'healthz' | 'status';

export interface PulsarProbeOptions {
  timeoutMs: number;
  dispatcher?: Dispatcher;
  /** How long a site without /healthz is probed by the status route before /healthz is tried again. Default 1 h. */
  recheckMs?: number;
  now?: () => number;
}

// A healthz or lost-status answer is a few hundred bytes; this only stops a runaway body.
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Probes Pulsar REST sites. `GET /healthz` exists since Pulsar 0.15.7 (galaxyproject/pulsar commit 02bbaaf)
 * and checks the token; an older Pulsar answers it 404 before any token check, as it answers every unknown
 * route (pulsar/web/framework.py RoutingApp). Such a site is probed with the status of PROBE_JOB_ID instead,
 * which proves the token too. The prober remembers per site (and URL) that /healthz was missing, so the
 * site does not pay for a 404 at every probe, and tries /healthz again after `recheckMs` (the site may have
 * been upgraded) or after a failed status probe.
 */
export class PulsarProber {
  private readonly withoutHealthz = new Map<string, number>();
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: PulsarProbeOptions) {
    this.recheckMs = opts.recheckMs ?? 60 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The site's version (null when it does not say) and the route that answered; throws AdapterError. */
  async probe(target: PulsarTarget): Promise<{ version: string | null; route: PulsarProbeRoute }> {
    const missingSince = this.withoutHealthz.get(target.key);
    if (missingSince !== undefined && this.now() - missingSince < this.recheckMs) {
      try {
        return { version: await this.lostStatus(target), route: 'status' };
      } catch (err) {
        this.withoutHealthz.delete(target.key);
        throw err;
      }
    }
    const healthz = await this.healthz(target);
    if (healthz !== 'missing') {
      this.withoutHealthz.delete(target.key);
      return { version: healthz, route: 'healthz' };
    }
    const version = await this.lostStatus(target);
    this.withoutHealthz.set(target.key, this.now());
    return { version, route: 'status' };
  }

  private call(target: PulsarTarget, path: string) {
    return pulsarCall(target, {
      method: 'GET',
      path,
      timeoutMs: this.opts.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      dispatcher: this.opts.dispatcher,
    });
  }

  /** The version from `GET /healthz`, or 'missing' when Pulsar has no such route (older than 0.15.7). */
  private async healthz(target: PulsarTarget): Promise<string | null | 'missing'> {
    const what = describe('GET', '/healthz');
    const reply = await this.call(target, '/healthz');
    if (reply.status === 404) return 'missing';
    if (reply.status !== 200) throw pulsarFailure(reply, what, target.secrets);
    const body = json(reply.text);
    if (body === undefined) {
      throw new AdapterError('protocol_error', `${what}: the answer is not JSON; is this a Pulsar server?`);
    }
    return versionOf(body, 'version');
  }

  /** `GET /jobs/constellation-probe/status`: a Pulsar job status (`lost`), which carries pulsar_version. */
  private async lostStatus(target: PulsarTarget): Promise<string | null> {
    const path = `/jobs/${PROBE_JOB_ID}/status`;
    const what = describe('GET', path);
    const reply = await this.call(target, path);
    if (reply.status === 404) {
      throw new AdapterError(
        'protocol_error',
        `GET /healthz and ${what}: HTTP 404; is this a Pulsar server (0.14 or later) at this URL?`,
      );
    }
    if (reply.status !== 200) throw pulsarFailure(reply, what, target.secrets);
    const body = json(reply.text);
    if (
      typeof body !== 'object' ||
      body === null ||
      typeof (body as { status?: unknown }).status !== 'string'
    ) {
      const said = oneLine(reply.text, 40, target.secrets);
      throw new AdapterError(
        'protocol_error',
        `${what}: the answer is not a Pulsar job status (starts with "${said}")`,
      );
    }
    return versionOf(body, 'pulsar_version');
  }
}

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function versionOf(body: unknown, key: string): string | null {
  const v = (body as Record<string, unknown> | null)?.[key];
  return typeof v === 'string' ? v.slice(0, 100) : null;
}
