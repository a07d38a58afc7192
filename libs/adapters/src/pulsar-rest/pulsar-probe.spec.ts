import { Agent } from 'undici';
import { startFakePulsarSite, type FakePulsarSite, type FakePulsarSiteOptions } from '@constellation/testing';
import { AdapterError, type AdapterSite } from '../site-adapter';
import { pulsarTarget } from './pulsar-http';
import { PROBE_JOB_ID, PulsarProber } from './pulsar-probe';
import { PulsarRestSiteAdapter } from './pulsar-rest.adapter';
import { pulsarRestSite } from '../testing/adapter-fixtures';

// The real adapter and prober against the fake Pulsar over loopback, as a current and as an old release.

const TOKEN = 'pulsar-probe-token-17';
const STATUS = `/jobs/${PROBE_JOB_ID}/status`;
const agent = new Agent({ keepAliveTimeout: 1_000 });
const started: FakePulsarSite[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});
afterAll(() => agent.close());

async function fakePulsar(options: FakePulsarSiteOptions = {}): Promise<FakePulsarSite> {
  const fake = await startFakePulsarSite({ token: TOKEN, ...options });
  started.push(fake);
  return fake;
}

function siteOf(fake: FakePulsarSite, extra: Partial<AdapterSite> = {}): AdapterSite {
  return pulsarRestSite(fake.url, TOKEN, extra);
}

const adapter = () => new PulsarRestSiteAdapter({ dispatcher: agent, timeoutMs: 2_000 });
const paths = (fake: FakePulsarSite) => fake.requests().map((r) => `${r.method} ${r.path}`);

describe('probing Pulsar REST sites', () => {
  it('answers GET /healthz with 404 and no token check on a Pulsar older than 0.15.7, like WebOb', async () => {
    const fake = await fakePulsar({ version: '0.15.6' });
    const res = await fetch(`${fake.url}/healthz?private_token=wrong`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('<h1>404 Not Found</h1>');
    expect((await fetch(`${fake.url}${STATUS}?private_token=wrong`)).status).toBe(401);
  });

  it('probes a Pulsar with /healthz through /healthz alone', async () => {
    const fake = await fakePulsar({ version: '0.15.16' });
    const pulsar = adapter();
    for (let i = 0; i < 2; i++) {
      expect(await pulsar.probe(siteOf(fake))).toEqual({
        ok: true,
        latencyMs: expect.any(Number),
        version: '0.15.16',
      });
    }
    expect(paths(fake)).toEqual(['GET /healthz', 'GET /healthz']);
  });

  it('probes an older Pulsar by the status of a job that never exists, and remembers that', async () => {
    const fake = await fakePulsar({ version: '0.14.16' });
    const pulsar = adapter();
    expect(await pulsar.probe(siteOf(fake))).toEqual({
      ok: true,
      latencyMs: expect.any(Number),
      version: '0.14.16',
    });
    expect(await pulsar.probe(siteOf(fake))).toEqual({
      ok: true,
      latencyMs: expect.any(Number),
      version: '0.14.16',
    });
    // One 404 for the first probe only; the token goes with every call.
    expect(paths(fake)).toEqual(['GET /healthz', `GET ${STATUS}`, `GET ${STATUS}`]);
    expect(fake.requests().every((r) => r.query.private_token === TOKEN)).toBe(true);
    // Nothing was created at the site.
    expect(fake.job(PROBE_JOB_ID)).toBeUndefined();
  });

  it('probes an older Pulsar under its manager', async () => {
    const fake = await fakePulsar({ version: '0.15.6', managers: ['constellation'] });
    const site = siteOf(fake, { pulsarManager: 'constellation' });
    expect((await adapter().probe(site)).ok).toBe(true);
    expect(paths(fake)).toEqual([
      'GET /managers/constellation/healthz',
      `GET /managers/constellation${STATUS}`,
    ]);
  });

  it('fails with an auth reason when an older Pulsar refuses the token, without showing it', async () => {
    const fake = await fakePulsar({ version: '0.15.6' });
    const probe = await adapter().probe(siteOf(fake, { credentials: { token: 'wrong-token-808' } }));
    expect(probe).toEqual({
      ok: false,
      latencyMs: null,
      error: `auth_failed: GET ${STATUS}: HTTP 401, the site refused our token`,
    });
    expect(probe.error).not.toContain('wrong-token-808');
  });

  it('says so when neither route exists: no Pulsar (0.14 or later) at that URL', async () => {
    const fake = await fakePulsar({ version: '0.15.6' });
    fake.failNext(404, 1, { path: STATUS, body: 'Not Found' });
    const probe = await adapter().probe(siteOf(fake));
    expect(probe.ok).toBe(false);
    expect(probe.error).toBe(
      `protocol_error: GET /healthz and GET ${STATUS}: HTTP 404; is this a Pulsar server (0.14 or later) at this URL?`,
    );
  });

  it('refuses a status answer that is not a Pulsar job status', async () => {
    const fake = await fakePulsar({ version: '0.15.6' });
    fake.failNext(200, 1, { path: STATUS, body: '<html>welcome</html>' });
    const probe = await adapter().probe(siteOf(fake));
    expect(probe.error).toBe(
      `protocol_error: GET ${STATUS}: the answer is not a Pulsar job status (starts with "<html>welcome</html>")`,
    );
  });

  it('tries /healthz again after the recheck time and after a failed status probe', async () => {
    const fake = await fakePulsar({ version: '0.15.6' });
    let now = 1_000_000;
    const prober = new PulsarProber({
      timeoutMs: 2_000,
      dispatcher: agent,
      recheckMs: 60_000,
      now: () => now,
    });
    const target = pulsarTarget(siteOf(fake));
    expect(await prober.probe(target)).toEqual({ version: '0.15.6', route: 'status' });
    now += 59_000;
    expect(await prober.probe(target)).toEqual({ version: '0.15.6', route: 'status' });
    expect(paths(fake)).toEqual(['GET /healthz', `GET ${STATUS}`, `GET ${STATUS}`]);

    // An hour on (here a minute), the site may have been upgraded: /healthz is asked again.
    now += 2_000;
    await prober.probe(target);
    expect(paths(fake).slice(3)).toEqual(['GET /healthz', `GET ${STATUS}`]);

    // A failed status probe forgets the route: the next probe starts from /healthz.
    fake.failNext(502, 1, { path: STATUS });
    const failure: unknown = await prober.probe(target).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AdapterError);
    expect(failure).toMatchObject({ kind: 'unreachable', message: `GET ${STATUS}: HTTP 502` });
    expect((await prober.probe(target)).route).toBe('status');
    expect(paths(fake).slice(5)).toEqual([`GET ${STATUS}`, 'GET /healthz', `GET ${STATUS}`]);
  });
});
