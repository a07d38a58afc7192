import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createPrincipal, TestPrincipal } from './support/principals';
import { CliResult, runCli } from './support/run-cli';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

/** The CLI on the run's database. */
function cli(...args: string[]): Promise<CliResult> {
  return runCli({}, args);
}

/** The JSON document the CLI printed (after any banner). */
function json<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.search(/^[{[]/m)));
}

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
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    siteId = res.body.id;
    slug = res.body.slug;
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
