import request from 'supertest';
import { DataSource } from 'typeorm';
import { RECENT_SITE_MS, SiteCatalog } from '@constellation/registry';
import { startFakeTesSite, FakeTesSite } from '@constellation/testing';
import { newId } from '@constellation/common';
import { AbandonedCopiesService } from '../libs/dispatch/src/abandoned-copies.service';
import { TaskChangeRepository } from '../libs/tes/src/task-change.repository';
import { PlacementService } from '../libs/dispatch/src/placement.service';
import { ProbeService } from '../libs/dispatch/src/probe.service';
import { DispatchSites } from '../libs/dispatch/src/dispatch-sites';
import { registerSite } from './support/dispatch-suite';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument, tesSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The registry hands dispatch the sites it may use (SiteCatalog), as plain values with decrypted credentials,
 * and the URL schemes a probe recorded are what placement reads: no call to the site while placing.
 */
describe('the site catalog dispatch reads', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let alice: TestPrincipal;
  let catalog: SiteCatalog;
  const fakes: FakeTesSite[] = [];

  beforeAll(async () => {
    // Probes and dispatch rounds are driven by the test, so nothing reaches a site behind its back.
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0', CONSTELLATION_DISPATCH_SECONDS: '0' });
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
    alice = await createPrincipal(t, 'submitter');
    catalog = t.app.get(SiteCatalog);
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  const act = (id: string, action: string) =>
    request(t.url).post(`/api/v1/sites/${id}/${action}`).set('Authorization', admin.bearer).expect(200);

  async function tesSite(storage: string[]): Promise<{ fake: FakeTesSite; id: string; token: string }> {
    const token = `site-token-${Math.random().toString(36).slice(2)}`;
    const fake = await startFakeTesSite({ requireToken: token, storage });
    fakes.push(fake);
    const { id } = await registerSite(t, provider, tesSiteDocument(fake.url, token));
    return { fake, id, token };
  }

  it('lists active and draining sites with decrypted credentials, and no pending, disabled or removed one', async () => {
    const pending = await registerSite(
      t,
      provider,
      siteDocument({ credentials: { username: 'galaxy', password: 'pulsar-secret' } }),
    );
    const active = await registerSite(t, provider, siteDocument({ credentials: { token: 'active-secret' } }));
    const draining = await registerSite(t, provider, siteDocument({ credentials: null }));
    const disabled = await registerSite(t, provider, siteDocument());
    const removed = await registerSite(t, provider, siteDocument());
    await act(active.id, 'approve');
    await act(draining.id, 'approve');
    await act(draining.id, 'drain');
    await act(disabled.id, 'approve');
    await act(disabled.id, 'disable');
    await act(removed.id, 'approve');
    await t.app.get(DataSource).query('DELETE FROM site WHERE id = $1', [removed.id]);

    const approved = new Map((await catalog.approved()).map((s) => [s.connection.id, s]));
    expect(approved.get(active.id)).toMatchObject({
      adminState: 'active',
      connection: { id: active.id, slug: active.slug, credentials: { token: 'active-secret' } },
    });
    expect(approved.get(draining.id)).toMatchObject({
      adminState: 'draining',
      connection: { credentials: null },
    });
    for (const gone of [pending, disabled, removed]) expect(approved.has(gone.id)).toBe(false);

    // Work already at a site is followed whatever its admin state; a removed site is simply gone.
    expect(await catalog.site(pending.id)).toMatchObject({
      adminState: 'pending',
      connection: { credentials: { username: 'galaxy', password: 'pulsar-secret' } },
    });
    expect(await catalog.site(disabled.id)).toMatchObject({ adminState: 'disabled' });
    expect(await catalog.site(removed.id)).toBeNull();
    // Plain values: nothing of the entity (its ciphertext least of all) reaches dispatch.
    expect(JSON.stringify(approved.get(active.id))).not.toContain('credentialsEncrypted');
  });

  it('records the schemes at probe time, and placement reads them without calling the site', async () => {
    const s3Only = await tesSite(['s3://bucket-a/']);
    const any = await tesSite([]);
    for (const s of [s3Only, any]) await act(s.id, 'approve');
    const schemesOf = async (id: string) => (await catalog.site(id))?.schemes;
    expect(await schemesOf(s3Only.id)).toBeNull();

    await t.app.get(ProbeService).probeDueSites();
    expect(await schemesOf(s3Only.id)).toEqual({ inputs: ['s3'], outputs: ['s3'] });
    expect(await schemesOf(any.id)).toEqual({ inputs: ['*'], outputs: ['*'] });
    const directory = await t.app.get(DispatchSites).approvedSites();
    expect(directory.find((s) => s.snapshot.id === s3Only.id)?.snapshot.schemes).toEqual({
      inputs: ['s3'],
      outputs: ['s3'],
    });

    const { body } = await tes(t.url, alice)
      .create({
        inputs: [{ url: 'https://example.org/data.txt', path: '/in/data.txt' }],
        executors: [{ image: 'alpine', command: ['cat', '/in/data.txt'] }],
      })
      .expect(200);
    const task = await t.app.get(TaskChangeRepository).find(body.id);
    const callsBefore = s3Only.fake.requests().length + any.fake.requests().length;
    const preview = await t.app.get(PlacementService).preview(task!);
    const candidate = (id: string) => preview.candidates.find((c) => c.siteId === id);
    expect(candidate(s3Only.id)).toMatchObject({
      feasible: false,
      unmet: [expect.objectContaining({ requirement: 'input_scheme' })],
    });
    expect(candidate(any.id)).toMatchObject({ feasible: true });
    expect(s3Only.fake.requests().length + any.fake.requests().length).toBe(callsBefore);

    // The stored value is the one placement goes by (the adapter's own cache of service-info says s3 only).
    await t.app
      .get(DataSource)
      .query(`UPDATE site SET input_schemes = '{s3,https}' WHERE id = $1`, [s3Only.id]);
    const again = await t.app.get(PlacementService).preview(task!);
    expect(again.candidates.find((c) => c.siteId === s3Only.id)).toMatchObject({ feasible: true });
  });

  it('reuses a site read for the per-task steps for a second, and drops it when a change commits here', async () => {
    const site = await tesSite([]);
    await act(site.id, 'approve');
    const db = t.app.get(DataSource);
    const now = Date.now();
    // Not probed here (probes are off): its health is still unknown.
    expect((await catalog.recentSite(site.id, now))?.health).toBe('unknown');

    // A change this replica did not make (another replica, a probe elsewhere) is seen once the read is old.
    await db.query(`UPDATE site SET health = 'offline' WHERE id = $1`, [site.id]);
    expect((await catalog.recentSite(site.id, now + RECENT_SITE_MS - 1))?.health).toBe('unknown');
    expect((await catalog.site(site.id))?.health).toBe('offline');
    expect((await catalog.recentSite(site.id, now + RECENT_SITE_MS))?.health).toBe('offline');

    // A change through this replica's registry is seen at once, whatever the age of the read.
    const later = now + RECENT_SITE_MS;
    await request(t.url)
      .patch(`/api/v1/sites/${site.id}`)
      .set('Authorization', admin.bearer)
      .send({ credentials: { token: 'rotated-token' } })
      .expect(200);
    expect((await catalog.recentSite(site.id, later))?.connection.credentials).toEqual({
      token: 'rotated-token',
    });
    await act(site.id, 'drain');
    expect((await catalog.recentSite(site.id, later))?.adminState).toBe('draining');
  });

  it('leaves abandoned copies alone at a site the registry knows offline, and stops them once it is up', async () => {
    const site = await tesSite([]);
    await act(site.id, 'approve');
    const db = t.app.get(DataSource);
    const taskId = newId();
    const now = new Date();
    await db.query(
      `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, site_id, version)
       VALUES ($1, $2, 'copy', 'COMPLETE', '{}', '{}', $3, $3, $4, 1)`,
      [taskId, alice.id, now, site.id],
    );
    await db.query(
      `INSERT INTO abandoned_copy (id, task_id, site_id, attempt, remote_id, reason, created_at, next_check_at)
       VALUES ($1, $2, $3, 1, 'left-behind', 'the site was offline', $4, $4)`,
      [newId(), taskId, site.id, now],
    );
    const copies = t.app.get(AbandonedCopiesService);
    const calls = () => site.fake.requests().filter((r) => r.path.includes('left-behind')).length;

    await db.query(`UPDATE site SET health = 'offline' WHERE id = $1`, [site.id]);
    await copies.stopAbandoned('replica-t');
    expect(calls()).toBe(0);

    await db.query(`UPDATE site SET health = 'up' WHERE id = $1`, [site.id]);
    await copies.stopAbandoned('replica-t');
    expect(calls()).toBeGreaterThan(0);
  });
});
