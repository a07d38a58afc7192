import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { CliResult, runCli } from './support/run-cli';
import { siteDocument } from './support/site-documents';
import { startTcpForwarder, type TcpForwarder } from './support/tcp-forwarder';
import { startTestApp, TestApp } from './support/test-app';
import { registerSite } from './support/dispatch-suite';

/** The CLI on the run's database. */
function cli(...args: string[]): Promise<CliResult> {
  return runCli({}, args);
}

/** The same, with these environment variables on top of the run's. */
function cliWith(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return runCli(env, args);
}

/** The JSON document the CLI printed (after any banner). */
function json<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.search(/^[{[]/m)));
}

// Each CLI call compiles the CLI from its sources (ts-node): several seconds of CPU, far more on a loaded
// machine, and a test makes up to three calls.
jest.setTimeout(180_000);

describe('operator CLI: site commands', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let siteId: string;
  let slug: string;

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
    ({ id: siteId, slug } = await registerSite(t, provider));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists sites, filtered by admin state', async () => {
    const r = await cli('site', 'list', '--admin-state', 'pending');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The API's shape: GET /api/v1/sites.
    const out = json<{ sites: { id: string; admin_state: string }[]; next_page_token: string | null }>(
      r.stdout,
    );
    expect(Object.keys(out).sort()).toEqual(['next_page_token', 'sites']);
    expect(out.sites.map((s) => s.id)).toContain(siteId);
    expect(out.sites.every((s) => s.admin_state === 'pending')).toBe(true);
    expect(JSON.stringify(out)).not.toContain('pulsar-private-token');
  }, 60_000);

  it('approves a site as the admin, noting the CLI in its event, and shows it', async () => {
    const r = await cli('site', 'approve', slug, '--reason', 'checked by phone');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ id: siteId, admin_state: 'active' });
    const events = await request(t.url)
      .get(`/api/v1/sites/${siteId}/events`)
      .set('Authorization', admin.bearer)
      .expect(200);
    const approval = events.body.events.find((e: { kind: string }) => e.kind === 'admin_state');
    expect(approval).toMatchObject({ from: 'pending', to: 'active' });
    expect(approval.reason).toBe('approve by admin (via the CLI): checked by phone');

    const shown = await cli('site', 'show', slug);
    expect(json(shown.stdout)).toMatchObject({ slug, admin_state: 'active' });
    const again = await cli('site', 'drain', 'no-such-site');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no site no-such-site');
  }, 60_000);

  it('registers a site from a JSON file for a named owner', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'constellation-cli-'));
    const file = path.join(dir, 'site.json');
    const doc = siteDocument();
    writeFileSync(file, JSON.stringify(doc));
    const r = await cli('site', 'register', '--file', file, '--owner', provider.name);
    expect(r.stderr).toBe('');
    expect(json(r.stdout)).toMatchObject({
      slug: doc.slug,
      owner_id: provider.id,
      admin_state: 'pending',
      has_credentials: true,
    });
    const bad = await cli('site', 'register', '--file', file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--owner');
  }, 60_000);

  it('makes a submitter limited to sites named by slug, and says which slug it does not know', async () => {
    const name = `galaxy-${Math.random().toString(36).slice(2, 8)}`;
    const r = await cli('principal', 'create', name, '--role', 'submitter', '--allowed-sites', slug);
    expect(r.stderr).toBe('');
    expect(json(r.stdout)).toMatchObject({ principal: { name, allowed_site_ids: [siteId] } });
    const unknown = await cli(
      'principal',
      'create',
      `${name}-2`,
      '--role',
      'submitter',
      '--allowed-sites',
      'nowhere',
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nowhere');
  }, 60_000);
});

describe('operator CLI: site test', () => {
  let t: TestApp;
  let provider: TestPrincipal;
  let admin: TestPrincipal;
  let fake: FakeTesSite;
  let forwarder: TcpForwarder;

  beforeAll(async () => {
    // The broker's public URL, where the site fetches the test file, whichever process runs the test.
    forwarder = await startTcpForwarder();
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0', CONSTELLATION_PUBLIC_URL: forwarder.url });
    forwarder.pointAt(t.url);
    provider = await createPrincipal(t, 'provider');
    admin = await createPrincipal(t, 'admin');
    fake = await startFakeTesSite({ transfers: true, requireToken: 'tes-token', stepDelayMs: 10 });
  });
  afterAll(async () => {
    await fake?.close();
    await t?.close();
    await forwarder?.close();
  });

  const register = async (token: string): Promise<string> =>
    (
      await request(t.url)
        .post('/api/v1/sites')
        .set('Authorization', provider.bearer)
        .send(siteDocument({ kind: 'tes', url: fake.url, credentials: { token } }))
        .expect(201)
    ).body.slug;

  it('runs the self-test on the database, prints the steps as a table and exits 0 when all passed', async () => {
    const slug = await register('tes-token');
    // The site fetches the test file from the running broker, whose URL the CLI must know.
    const r = await cliWith({ CONSTELLATION_PUBLIC_URL: forwarder.url }, 'site', 'test', slug);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`self-test of site ${slug}: passed`);
    expect(lines[3]).toMatch(/^STEP\s+RESULT\s+TIME\s+DETAIL$/);
    expect(lines[4]).toMatch(/^reach the site\s+ok\s+\d+ ms\s+the site answered in/);
    expect(lines.filter((l) => /\s(ok|FAILED|skipped)\s/.test(l))).toHaveLength(9);
    const site = await request(t.url).get(`/api/v1/sites/${slug}`).set('Authorization', admin.bearer);
    expect(site.body.last_self_test.ok).toBe(true);
    const shown = json<{ last_self_test: { ok: boolean } }>((await cli('site', 'show', slug)).stdout);
    expect(shown.last_self_test.ok).toBe(true);
  }, 120_000);

  it('exits 1 when a step failed, naming it and what to fix', async () => {
    const slug = await register('wrong');
    const r = await cliWith({ CONSTELLATION_PUBLIC_URL: forwarder.url }, 'site', 'test', slug);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`self-test of site ${slug}: FAILED`);
    expect(r.stdout).toMatch(
      /authenticate\s+FAILED\s+\d+ ms\s+the TES site answered 401: check the token in credentials/,
    );
    expect(r.stdout).toMatch(/submit\s+skipped\s+0 ms\s+skipped: authenticate failed/);
    const asJson = await cliWith({ CONSTELLATION_PUBLIC_URL: forwarder.url }, 'site', 'test', slug, '--json');
    expect(asJson.code).toBe(1);
    expect(json<{ ok: boolean }>(asJson.stdout).ok).toBe(false);
  }, 120_000);

  it('asks a remote broker through its API with --url and --token', async () => {
    const slug = await register('tes-token');
    const r = await cliWith({}, 'site', 'test', slug, '--url', t.url, '--token', provider.token);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`self-test of site ${slug}: passed`);
    const stranger = await createPrincipal(t, 'provider');
    const refused = await cliWith({}, 'site', 'test', slug, '--url', t.url, '--token', stranger.token);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`FORBIDDEN: only the owner of site ${slug} or an admin may test it`);
  }, 120_000);
});
