import { connect } from 'node:net';
import { ProbeOutcome, ProbeTarget } from '@constellation/registry';

export interface ReachabilityOptions {
  timeoutMs: number;
  /** The broker's AMQP_URL, for pulsar-amqp sites registered without a URL of their own. */
  amqpUrl: string | undefined;
}

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

async function httpCheck(url: string, timeoutMs: number): Promise<Omit<ProbeOutcome, 'latencyMs'>> {
  // No credentials are sent: this only asks whether something answers at the URL. Any answer below 500
  // (401 and 404 included) means the service is up; a 5xx means it is there but broken.
  const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return res.status < 500 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<Omit<ProbeOutcome, 'latencyMs'>> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (outcome: Omit<ProbeOutcome, 'latencyMs'>) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, error: 'timed out' }));
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (err) => done({ ok: false, error: reason(err) }));
  });
}

/**
 * Until the site adapters exist, a probe is a plain reachability check: an HTTP GET of the site's URL for
 * TES and Pulsar REST, a TCP connection to the message broker for Pulsar AMQP. It never throws.
 */
export async function checkReachability(
  target: ProbeTarget,
  opts: ReachabilityOptions,
): Promise<ProbeOutcome> {
  const started = performance.now();
  const elapsed = () => Math.max(0, Math.round(performance.now() - started));
  try {
    let outcome: Omit<ProbeOutcome, 'latencyMs'>;
    if (target.kind === 'pulsar-amqp') {
      const raw = target.url ?? opts.amqpUrl;
      if (!raw) return { ok: false, latencyMs: null, error: 'no URL and no AMQP_URL configured' };
      const u = new URL(raw);
      const port = u.port ? Number(u.port) : u.protocol === 'amqps:' ? 5671 : 5672;
      outcome = await tcpCheck(u.hostname.replace(/^\[|\]$/g, ''), port, opts.timeoutMs);
    } else {
      outcome = await httpCheck(target.url as string, opts.timeoutMs);
    }
    return { ...outcome, latencyMs: outcome.ok ? elapsed() : null };
  } catch (err) {
    return { ok: false, latencyMs: null, error: reason(err) };
  }
}
