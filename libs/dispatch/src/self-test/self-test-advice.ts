import type { AdapterSite, RemoteStatus } from '@constellation/adapters';
import { AdapterError, isAdapterError } from '@constellation/adapters';

/**
 * The words of self-test failures: what failed and what to change on the site's side. Adapters report in the
 * dispatch contract's terms (kinds, HTTP statuses); a provider needs to know which setting to fix.
 */

/** What a probe says about the first three steps: true, or why the step fails. */
export interface ProbeVerdict {
  reach: true | string;
  reachDetail: string;
  auth: true | string;
  /** Pulsar AMQP only: the probe inspected the manager's setup queue. */
  manager: true | string;
  managerDetail?: string;
}

export function kindWords(site: AdapterSite): string {
  if (site.kind === 'tes') return 'the TES site';
  return 'Pulsar';
}

function credentialsAdvice(site: AdapterSite): string {
  if (site.kind === 'pulsar-amqp') {
    return 'check username and password in credentials (a RabbitMQ user with access to the vhost)';
  }
  if (site.kind === 'pulsar-rest')
    return "check the token in credentials (Pulsar's private_token in app.yml)";
  return 'check the token in credentials';
}

/** `kind: message` as probes write errors; the kind tells the step. */
function probeKind(error: string): string | null {
  return /^(unreachable|auth_failed|protocol_error|rejected|lost): /.exec(error)?.[1] ?? null;
}

function httpStatus(message: string): string | null {
  return /HTTP (\d{3})/.exec(message)?.[1] ?? null;
}

function refusedCredentials(site: AdapterSite, message: string): string {
  const status = httpStatus(message);
  const who =
    site.kind === 'pulsar-amqp'
      ? 'the message broker refused our login'
      : `${kindWords(site)} answered ${status ?? 'with a refusal'}`;
  return `${who}: ${credentialsAdvice(site)}`;
}

function unreachableAdvice(site: AdapterSite, error: string): string {
  if (site.kind === 'pulsar-amqp') {
    return `the broker cannot reach the site's message broker (${error}): check the site's AMQP URL (or AMQP_URL), that RabbitMQ runs and that its port is open to the broker`;
  }
  return `the broker cannot reach ${site.url ?? 'the site'} (${error}): check the URL, that the server runs, and that its firewall lets the broker in`;
}

export function probeVerdict(
  site: AdapterSite,
  probe: { ok: boolean; latencyMs: number | null; version?: string | null; error?: string },
): ProbeVerdict {
  if (probe.ok) {
    const version = probe.version ? `, version ${probe.version}` : '';
    return {
      reach: true,
      reachDetail: `the site answered in ${probe.latencyMs ?? '?'} ms${version}`,
      auth: true,
      manager: true,
      managerDetail:
        site.kind === 'pulsar-amqp'
          ? `Pulsar consumes the setup queue of manager ${site.pulsarManager ?? '_default_'}`
          : undefined,
    };
  }
  const error = probe.error ?? 'probe failed';
  const kind = probeKind(error);
  if (kind === 'auth_failed') {
    return {
      reach: true,
      reachDetail: 'the site answered (and refused our credentials)',
      auth: refusedCredentials(site, error),
      manager: true,
    };
  }
  if (site.kind === 'pulsar-rest' && kind === 'unreachable' && httpStatus(error) === '500') {
    // Pulsar checks the token before it looks the manager up: a 500 here is the manager's KeyError.
    return {
      reach: true,
      reachDetail: 'Pulsar answered (HTTP 500)',
      auth: true,
      manager: managerFailure(site, new AdapterError('unreachable', error)) ?? error,
    };
  }
  if (kind !== null || site.kind !== 'pulsar-amqp') {
    return { reach: unreachableAdvice(site, error), reachDetail: '', auth: true, manager: true };
  }
  // The AMQP probe got in and looked at the manager's setup queue: what it says is about the manager.
  const manager = site.pulsarManager ?? '_default_';
  const advice = /never ran there|no queue/.test(error)
    ? `check that Pulsar's app.yml has manager "${manager}" and message_queue_url pointing at this message broker (or fix pulsar_manager)`
    : `start Pulsar with manager "${manager}" consuming this message broker`;
  return {
    reach: true,
    reachDetail: 'the message broker answered',
    auth: true,
    manager: `${error}: ${advice}`,
  };
}

/** Pulsar REST answers an unknown manager with HTTP 500 (a KeyError), after it accepted the token. */
export function managerFailure(site: AdapterSite, err: unknown): string | null {
  if (!isAdapterError(err) || err.kind !== 'unreachable' || httpStatus(err.message) !== '500') return null;
  if (site.pulsarManager === null) {
    return `Pulsar answered HTTP 500 to a status request on its default manager: see Pulsar's log`;
  }
  return (
    `Pulsar answered HTTP 500 on /managers/${site.pulsarManager}/: it has no manager named "${site.pulsarManager}"; ` +
    `add it under managers in Pulsar's app.yml, or fix pulsar_manager`
  );
}

/** Any failure of an exchange with the site, in a provider's terms. */
export function describeFailure(site: AdapterSite, err: unknown): string {
  if (!isAdapterError(err)) return err instanceof Error ? err.message : String(err);
  switch (err.kind) {
    case 'auth_failed':
      return refusedCredentials(site, err.message);
    case 'unreachable':
      return unreachableAdvice(site, err.message);
    case 'rejected':
      return `the site (or the broker, before sending) refused the job: ${err.message}`;
    case 'lost':
      return `the site no longer knows the job: ${err.message}`;
    case 'protocol_error':
      return `the site's answer was not what its protocol says: ${err.message}`;
    case 'undeliverable':
      return `the broker could not deliver an output: ${err.message}`;
  }
}

function siteSaid(status: RemoteStatus | undefined): string {
  const said = (status?.systemLogs ?? []).slice(-2).join(' | ').slice(0, 300);
  return said ? ` (the site said: ${said})` : '';
}

export function unfetchedInput(
  site: AdapterSite,
  url: string,
  publicUrl: string,
  status: RemoteStatus | undefined,
): string {
  return (
    `${kindWords(site)} did not fetch ${url}: the site cannot reach the broker's public URL (${publicUrl}); ` +
    `check CONSTELLATION_PUBLIC_URL and that the site's outbound firewall or proxy lets it reach the broker${siteSaid(status)}`
  );
}

export function undeliveredOutput(site: AdapterSite, url: string, status: RemoteStatus | undefined): string {
  const how =
    site.kind === 'tes'
      ? "the site did not upload it: check that its storage backend can PUT to http(s) URLs and reach the broker's public URL"
      : site.kind === 'pulsar-amqp'
        ? "Pulsar did not post it to the broker's job-files endpoint: check that the job's outputs directory is kept and that Pulsar reaches the broker's public URL"
        : "Pulsar did not hand it back to the broker: check that the job's outputs directory is kept after the job (no cleanup before the broker collects it)";
  return `the output never reached ${url}: ${how}${siteSaid(status)}`;
}
