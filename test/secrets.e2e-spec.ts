import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { BrokerProcess, spawnBroker, waitForOk } from './support/broker-process';
import { FakeSite, startFakeSite } from './support/fake-site';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

/**
 * Runs the real broker as a process at debug level, drives every registry and token flow that carries a
 * secret, and then greps everything it printed and every response for the secrets.
 */
describe('no token or site credential in any log line or response', () => {
  let broker: BrokerProcess;
  let base: string;
  let fake: FakeSite;
  const adminToken = randomBytes(32).toString('base64url');
  const siteToken = secret('site-token');
  const siteToken2 = secret('site-token-two');
  const sitePassword = secret('site-password');
  const rejectedPassword = secret('rejected-password');
  const wrongToken = randomBytes(32).toString('base64url');
  const responses: { what: string; text: string }[] = [];

  async function call(what: string, method: string, path: string, auth: string | undefined, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push({ what, text: `${res.status} ${JSON.stringify([...res.headers])} ${text}` });
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    fake = await startFakeSite();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    broker = spawnBroker({
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'debug',
      CONSTELLATION_ADMIN_TOKEN: adminToken,
      CONSTELLATION_PROBE_SECONDS: '1',
    });
    await waitForOk(`${base}/health/ready`, 60_000, broker);
  }, 90_000);
  afterAll(async () => {
    if (broker && broker.child.exitCode === null) {
      broker.child.kill('SIGTERM');
      await broker.exited;
    }
    await fake?.down();
  });

  it('writes a request line within about a second on a quiet broker (the log buffer is flushed on a timer)', async () => {
    const id = `flush-check-${Date.now()}`;
    await fetch(`${base}/health/live`, { headers: { 'x-request-id': id } });
    const deadline = Date.now() + 3000;
    while (!broker.output().includes(id) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(broker.output()).toContain(id);
  });

  it('keeps every secret out of output and responses', async () => {
    const admin = `Bearer ${adminToken}`;
    const created = await call('create provider', 'POST', '/api/v1/principals', admin, {
      name: `leak-check-${Date.now()}`,
      role: 'provider',
    });
    expect(created.status).toBe(201);
    const providerToken: string = created.body.token.token;
    const name: string = created.body.principal.name;
    const provider = `Basic ${Buffer.from(`${name}:${providerToken}`).toString('base64')}`;

    const site = await call('register', 'POST', '/api/v1/sites', provider, {
      slug: `leak-${Date.now()}`,
      display_name: 'Leak check',
      country: 'NL',
      kind: 'tes',
      url: fake.url,
      credentials: { token: siteToken },
    });
    expect(site.status).toBe(201);
    const id: string = site.body.id;
    const basicSite = await call('register basic', 'POST', '/api/v1/sites', provider, {
      slug: `leak-basic-${Date.now()}`,
      display_name: 'Leak check basic',
      country: 'NL',
      kind: 'tes',
      url: fake.url,
      credentials: { username: 'svc', password: sitePassword },
    });
    expect(basicSite.status).toBe(201);
    expect((await call('get', 'GET', `/api/v1/sites/${id}`, provider)).status).toBe(200);
    expect((await call('list', 'GET', '/api/v1/sites', admin)).status).toBe(200);
    expect(
      (await call('patch', 'PATCH', `/api/v1/sites/${id}`, provider, { credentials: { token: siteToken2 } }))
        .status,
    ).toBe(200);
    const invalid = await call('invalid', 'PATCH', `/api/v1/sites/${id}`, provider, {
      country: 'ZZ',
      credentials: { token: siteToken, username: 'svc', password: rejectedPassword },
    });
    expect(invalid.status).toBe(400);
    expect(
      (
        await call('in URL', 'POST', '/api/v1/sites', provider, {
          slug: 'leak-url',
          display_name: 'x',
          country: 'NL',
          kind: 'tes',
          url: `https://svc:${rejectedPassword}@pulsar.example.org/`,
        })
      ).status,
    ).toBe(400);
    expect((await call('wrong bearer', 'GET', '/api/v1/sites', `Bearer ${wrongToken}`)).status).toBe(401);
    const wrongBasic = `Basic ${Buffer.from(`${name}:${wrongToken}`).toString('base64')}`;
    expect((await call('wrong basic', 'GET', '/api/v1/sites', wrongBasic)).status).toBe(401);
    expect((await call('token in query', 'GET', `/api/v1/sites?token=${wrongToken}`, provider)).status).toBe(
      400,
    );
    expect((await call('approve', 'POST', `/api/v1/sites/${id}/approve`, admin)).status).toBe(200);

    // Let the probe loop run against the fake site (it must not send or log the credentials either).
    const deadline = Date.now() + 20_000;
    while ((await call('poll', 'GET', `/api/v1/sites/${id}`, admin)).body.health !== 'up') {
      if (Date.now() > deadline) throw new Error(`site never became up:\n${broker.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const rotated = await call('rotate', 'POST', '/api/v1/tokens/rotate', provider);
    expect(rotated.status).toBe(201);
    const rotatedToken: string = rotated.body.token;
    expect((await call('old token', 'GET', '/api/v1/sites', provider)).status).toBe(401);

    broker.child.kill('SIGTERM');
    await broker.exited;
    const output = broker.output();
    // The request log is there, at debug level, so the grep below is looking at real traffic.
    expect(output).toMatch(/PATCH \/api\/v1\/sites\/[0-9a-f-]+ 400/);
    expect(output).toMatch(/"msg":"site leak-\d+ is up"/);

    const secrets = {
      adminToken,
      providerToken,
      rotatedToken,
      siteToken,
      siteToken2,
      sitePassword,
      rejectedPassword,
      wrongToken,
    };
    for (const [label, value] of Object.entries(secrets)) {
      expect({ label, inOutput: output.includes(value) }).toEqual({ label, inOutput: false });
      for (const r of responses) {
        // A token appears exactly once: in the response that issued it.
        const issuedHere =
          (label === 'providerToken' && r.what === 'create provider') ||
          (label === 'rotatedToken' && r.what === 'rotate');
        expect({ label, response: r.what, leaked: r.text.includes(value) }).toEqual({
          label,
          response: r.what,
          leaked: issuedHere,
        });
      }
    }
  }, 90_000);
});
