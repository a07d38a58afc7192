import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { consoleRoot } from '../apps/broker/src/http/console-static';
import { CHROMIUM, launchChromium, requireBuiltConsole, TestBrowser } from './support/browser';
import { endLeftoverTasks, registerSiteUp, untilFinished } from './support/dispatch-suite';
import { startFakeTesSite, FakeTesSite } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/**
 * The console in headless Chromium against the real broker, database and a fake TES site: what a provider,
 * an admin and a submitter do in a browser. Screenshots go to CONSOLE_SCREENSHOTS (docs/images to refresh
 * the documentation's) or to a temporary folder.
 */
// A browser, a broker and a fake site take more than jest's 5 s default to start on a loaded machine.
jest.setTimeout(60_000);

// As the AMQP suites do without RabbitMQ: a developer machine without Debian's chromium skips these with a
// printed reason; under CI (which installs it) a missing chromium is an error.
const browserAvailable = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!browserAvailable) {
  console.warn(`web console browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}
const describeInBrowser = browserAvailable ? describe : describe.skip;

describeInBrowser('web console in a browser', () => {
  let t: TestApp;
  let b: TestBrowser;
  let page: Page;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let submitter: TestPrincipal;
  const fakes: FakeTesSite[] = [];
  const tag = Math.random().toString(36).slice(2, 7);
  const shots = resolve(
    process.env.CONSOLE_SCREENSHOTS ?? join(require('node:os').tmpdir(), `console-shots-${tag}`),
  );
  const formSlug = `it-bari-${tag}`;

  beforeAll(async () => {
    requireBuiltConsole(consoleRoot());
    mkdirSync(shots, { recursive: true });
    t = await startTestApp({
      CONSTELLATION_DISPATCH_SECONDS: '0.05',
      CONSTELLATION_TRACK_SECONDS: '0.05',
      CONSTELLATION_PROBE_SECONDS: '1',
      CONSTELLATION_PROBE_FAILURES: '2',
    });
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin', { name: `admin-${tag}` });
    provider = await createPrincipal(t, 'provider', { name: `provider-${tag}` });
    submitter = await createPrincipal(t, 'submitter', { name: `galaxy-${tag}` });
    // A site already in the Network, beside the one registered through the form.
    const token = `site-${tag}`;
    const fake = await startFakeTesSite({ requireToken: token });
    fakes.push(fake);
    await registerSiteUp(
      t,
      provider,
      admin,
      siteDocument({
        slug: `de-freiburg-${tag}`,
        display_name: 'usegalaxy.eu TES (Freiburg)',
        kind: 'tes',
        url: fake.url,
        pulsar_manager: null,
        credentials: { token },
        capacity: {
          max_concurrent_tasks: 40,
          totals: { cores: 512 },
          per_task: { cores: 16, memory_gib: 64 },
        },
      }),
    );
    // The rest of a small Network, for the map: sites whose endpoints answer nothing (probed offline), one
    // draining, and a data store that the task below reads from.
    for (const [slug, name, country, latitude, longitude, max] of [
      ['fi-espoo', 'CSC Espoo', 'FI', 60.2, 24.66, 60],
      ['cz-brno', 'MetaCentrum Brno', 'CZ', 49.19, 16.61, 30],
      ['es-barcelona', 'BSC Barcelona', 'ES', 41.39, 2.11, 25],
      ['pt-lisbon', 'INCD Lisbon', 'PT', 38.72, -9.14, 8],
    ] as const) {
      const res = await request(t.url)
        .post('/api/v1/sites')
        .set('Authorization', provider.bearer)
        .send(
          siteDocument({
            slug: `${slug}-${tag}`,
            display_name: name,
            country,
            latitude,
            longitude,
            url: 'http://127.0.0.1:9/',
            capacity: { max_concurrent_tasks: max },
          }),
        )
        .expect(201);
      await request(t.url)
        .post(`/api/v1/sites/${res.body.id}/approve`)
        .set('Authorization', admin.bearer)
        .expect(200);
      if (slug === 'cz-brno')
        await request(t.url)
          .post(`/api/v1/sites/${res.body.id}/drain`)
          .set('Authorization', admin.bearer)
          .expect(200);
    }
    await request(t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', admin.bearer)
      .send({
        name: `bologna-${tag}`,
        url_prefixes: [`${fake.url}/datasets/`],
        country: 'IT',
        latitude: 44.49,
        longitude: 11.34,
      })
      .expect(201);
    b = await launchChromium();
    page = await b.browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  const go = (path: string) => page.goto(`${t.url}${path}`);
  const signInAs = async (who: TestPrincipal) => {
    await go('/sign-in');
    await page.getByLabel('API token').fill(who.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`${who.name} (${who.role})`).waitFor();
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
  };
  const api = (path: string, who = admin) =>
    request(t.url).get(path).set('Authorization', who.bearer).expect(200);

  it('shows the Network on the map and in a table without signing in', async () => {
    await go('/');
    const marker = page.locator(`svg [data-site="de-freiburg-${tag}"]`);
    await marker.waitFor();
    expect(await marker.getAttribute('aria-label')).toMatch(
      /^usegalaxy\.eu TES \(Freiburg\), DE: up, 0 of 40 running$/,
    );
    await expect(page.getByRole('cell', { name: 'usegalaxy.eu TES (Freiburg)' }).count()).resolves.toBe(1);
    // Focus shows the site's card.
    await marker.focus();
    await page.locator('.site-card', { hasText: 'usegalaxy.eu TES (Freiburg)' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('lets a provider register a site through the form, with a rejected field shown beside it', async () => {
    const fake = await startFakeTesSite({ requireToken: `bari-${tag}` });
    fakes.push(fake);
    await signInAs(provider);
    expect(await page.evaluate("sessionStorage.getItem('constellation.token')")).toBe(provider.token);
    expect(page.url()).not.toContain(provider.token);
    await page.getByRole('link', { name: 'Register a site' }).click();
    await page.getByLabel('Slug').fill(formSlug);
    await page.getByLabel('Display name').fill('ReCaS Bari');
    await page.getByLabel('Country').fill('ZZ'); // no such country
    await page.getByLabel('Latitude').fill('41.11');
    await page.getByLabel('Longitude').fill('16.87');
    await page.getByLabel('Kind').selectOption('tes');
    await page.getByLabel('URL').fill(fake.url);
    await page.getByLabel('Bearer token').fill(`bari-${tag}`);
    await page.getByLabel('Concurrent tasks').fill('20');
    await page.getByRole('button', { name: 'Register' }).click();

    const countryError = page.locator('#e-country');
    await countryError.waitFor();
    expect(await countryError.textContent()).toMatch(/ISO 3166-1/);
    expect(await page.getByLabel('Country').getAttribute('aria-invalid')).toBe('true');
    // Nothing was registered, and nothing typed was lost.
    await request(t.url).get(`/api/v1/sites/${formSlug}`).set('Authorization', admin.bearer).expect(404);
    expect(await page.getByLabel('Display name').inputValue()).toBe('ReCaS Bari');

    await page.getByLabel('Country').fill('IT');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: 'Site registered' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('pending');
    const site = (await api(`/api/v1/sites/${formSlug}`)).body;
    expect(site).toMatchObject({
      display_name: 'ReCaS Bari',
      country: 'IT',
      latitude: 41.11,
      longitude: 16.87,
      kind: 'tes',
      url: fake.url,
      has_credentials: true,
      admin_state: 'pending',
      owner_id: provider.id,
      capacity: { max_concurrent_tasks: 20 },
    });
    await signOut();
    expect(await page.evaluate("sessionStorage.getItem('constellation.token')")).toBeNull();
  });

  it('lets an admin approve it, after which it is on the map and in the table', async () => {
    await signInAs(admin);
    await page.getByRole('link', { name: 'Admin' }).click();
    const pending = page.locator(`[data-pending="${formSlug}"]`);
    await pending.getByRole('button', { name: 'Approve' }).click();
    await pending.waitFor({ state: 'detached' });
    expect((await api(`/api/v1/sites/${formSlug}`)).body.admin_state).toBe('active');
    await waitFor('the approved site probed up', async () =>
      (await api(`/api/v1/sites/${formSlug}`)).body.health === 'up' ? true : undefined,
    );

    // Quotas and share weights: a bad value gets the API's field error, a good one is saved.
    const row = page.getByRole('row').filter({ hasText: submitter.name });
    await row.getByLabel(`Quota of ${submitter.name}`).fill('many');
    await row.getByRole('button', { name: `Save quota and weight of ${submitter.name}` }).click();
    await row.getByText(/max_running_tasks: /).waitFor();
    await row.getByLabel(`Quota of ${submitter.name}`).fill('25');
    await row.getByLabel(`Share weight of ${submitter.name}`).fill('2');
    await row.getByRole('button', { name: `Save quota and weight of ${submitter.name}` }).click();
    await row.getByText('saved').waitFor();
    expect((await api(`/api/v1/principals/${submitter.id}`)).body).toMatchObject({
      max_running_tasks: 25,
      share_weight: 2,
    });

    await page.getByRole('link', { name: 'Network' }).click();
    const marker = page.locator(`svg [data-site="${formSlug}"]`);
    await marker.waitFor();
    expect(await marker.getAttribute('aria-label')).toMatch(
      /^ReCaS Bari, IT: (up|health unknown), 0 of 20 running$/,
    );
    await page.getByRole('link', { name: 'ReCaS Bari' }).waitFor();
  });

  it('shows a site page with its state, capacity and history', async () => {
    // By keyboard, as a marker is a button: other suites' sites in the shared database may sit on top of it.
    const marker = page.locator(`svg [data-site="de-freiburg-${tag}"]`);
    await marker.focus();
    await marker.press('Enter');
    await page.getByRole('heading', { name: /usegalaxy\.eu TES \(Freiburg\)/ }).waitFor();
    const events = (await api(`/api/v1/sites/de-freiburg-${tag}/events`)).body.events as { kind: string }[];
    await page
      .locator('table.events tbody tr')
      .nth(events.length - 1)
      .waitFor();
    expect(await page.locator('table.events tbody tr').count()).toBe(events.length);
    await page.getByRole('button', { name: 'Drain' }).waitFor();

    // The admin runs the site's self-test from its page: each step as the API recorded it.
    await page.getByRole('button', { name: 'Run self-test' }).click();
    const steps = page.getByRole('table', { name: 'Steps of the self-test just run' });
    await steps.waitFor({ timeout: 45_000 });
    const last = (await api(`/api/v1/sites/de-freiburg-${tag}`)).body.last_self_test as {
      steps: { name: string; ok: boolean }[];
    };
    expect(
      await steps
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-step'), tr.getAttribute('data-ok')])),
    ).toEqual(last.steps.map((step) => [step.name, String(step.ok)]));
    expect(last.steps[0]).toMatchObject({ name: 'reach the site', ok: true });
  });

  it('opens a task page whose timeline and placement explanation match the API', async () => {
    const client = tes(t.url, submitter);
    const created = await client.create({
      name: `align-${tag}`,
      inputs: [
        { path: '/data/reads.fq', content: 'ACGT' },
        { path: '/data/ref.fa', url: `${fakes[0].url}/datasets/ref.fa` },
      ],
      executors: [{ image: 'quay.io/biocontainers/bwa:0.7.17', command: ['echo', 'aligned'] }],
      resources: { cpu_cores: 2, backend_parameters: { 'constellation.site': formSlug } },
    });
    const id = created.body.id as string;
    await untilFinished(client, id, `task ${id} to finish`);
    const events = (await api(`/api/v1/tasks/${id}/events`, submitter)).body.events as { to: string }[];
    const placement = (await api(`/api/v1/tasks/${id}/placement`, submitter)).body;
    expect(placement.placement.site).toBe(formSlug);

    await signOut();
    await signInAs(submitter);
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('link', { name: id }).click();
    const timeline = page.getByRole('list', { name: 'Task timeline' });
    await timeline
      .locator('li')
      .nth(events.length - 1)
      .waitFor();
    expect(
      await timeline.locator('li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-to'))),
    ).toEqual(events.map((e) => e.to));
    const rows = page.locator('.placement tbody tr');
    expect(await rows.count()).toBe(placement.placement.candidates.length);
    expect(await page.locator('.placement tr.chosen').getAttribute('data-site')).toBe(formSlug);
    expect(await page.locator('.placement tr.chosen').textContent()).toContain('chosen');
    // The other sites say why not: here, the task was pinned elsewhere.
    expect(await page.locator(`.placement tr[data-site="de-freiburg-${tag}"]`).textContent()).toMatch(/pin/i);
    await page.screenshot({ path: join(shots, 'console-task.png'), fullPage: true });

    // The site that ran it lists it among its recent tasks, beside its load chart.
    await signOut();
    await signInAs(admin);
    await go(`/sites/${formSlug}`);
    await page.getByRole('link', { name: `align-${tag}` }).waitFor();
    await page.locator('.load-chart canvas').waitFor();
    await page.getByRole('button', { name: 'Drain' }).waitFor();
    await page.screenshot({ path: join(shots, 'console-site.png'), fullPage: true });

    // Edit: the form comes filled in; credentials stay empty and are kept.
    await page.getByRole('link', { name: 'Edit the site or rotate its credentials' }).click();
    expect(await page.getByLabel('Display name').inputValue()).toBe('ReCaS Bari');
    expect(await page.getByLabel('Bearer token').inputValue()).toBe('');
    await page.getByLabel('Display name').fill('ReCaS Bari (INFN)');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Site saved' }).waitFor();
    expect((await api(`/api/v1/sites/${formSlug}`)).body).toMatchObject({
      display_name: 'ReCaS Bari (INFN)',
      has_credentials: true,
      admin_state: 'active',
    });
  });

  it('searches tasks by site, submitter and time, with the search in a URL that can be shared', async () => {
    // Signed in as the admin since the test above.
    await go(`/tasks?site=${formSlug}`);
    expect(await page.getByLabel('Site').inputValue()).toBe(formSlug);
    const rows = page.locator('table.data tbody tr[data-task]');
    await rows.first().waitFor();
    expect(await rows.allTextContents()).toEqual([expect.stringContaining(`align-${tag}`)]);
    await page.getByLabel('Submitter').fill(admin.name);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No task matches.').waitFor();
    expect(new URL(page.url()).searchParams.get('submitter')).toBe(admin.name);
    await page.getByLabel('Submitter').fill(submitter.name);
    await page.getByLabel('Created from').fill('2026-12-06T10:00');
    await page.getByLabel('Created before').fill('2026-12-06T09:00');
    await page.getByRole('button', { name: 'Search' }).click();
    // The API's 400 names the field; the console shows it beside that field.
    await page.locator('#se-createdBefore').getByText('must be later than created_after').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await rows.first().waitFor();
    expect(new URL(page.url()).search).toBe('');
  });

  it('updates the task list and a task page live, without reloading', async () => {
    // Pinned to the draining site, the task waits in the queue until something happens to it.
    const client = tes(t.url, submitter);
    const waiting = async (name: string) =>
      (
        await client.create({
          name,
          executors: [{ image: 'alpine', command: ['true'] }],
          resources: { backend_parameters: { 'constellation.site': `cz-brno-${tag}` } },
        })
      ).body.id as string;
    await go(`/tasks?name_prefix=live-${tag}`);
    await page.getByText('No task matches.').waitFor();
    const first = await waiting(`live-${tag}-1`);
    await page.locator(`tr[data-task="${first}"]`).waitFor({ timeout: 10_000 });
    await page.getByRole('link', { name: first }).click();
    await page.locator('.status .pill', { hasText: 'QUEUED' }).waitFor();
    // No poll comes in the next minute: only the event stream can move the page.
    await request(t.url)
      .post(`/ga4gh/tes/v1/tasks/${first}:cancel`)
      .set('Authorization', submitter.bearer)
      .expect(200);
    await page.locator('.status .pill', { hasText: 'CANCELED' }).waitFor({ timeout: 10_000 });
    await page
      .getByRole('list', { name: 'Task timeline' })
      .locator('li[data-to="CANCELED"]')
      .waitFor({ timeout: 10_000 });
  });

  it('takes the map screenshot and signs out, forgetting the token', async () => {
    await page.getByRole('link', { name: 'Network' }).click();
    await page.locator(`svg [data-site="${formSlug}"]`).waitFor();
    // The task above read from the Bologna store: a line joins it to the site that ran it.
    await page.locator('svg .links line').first().waitFor();
    await page.locator(`svg [data-store="bologna-${tag}"]`).waitFor();
    await page.screenshot({ path: join(shots, 'console-map.png') });
    await signOut();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await go('/tasks');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('sends a user whose token was revoked to sign-in with a message', async () => {
    const victim = await createPrincipal(t, 'submitter');
    await signInAs(victim);
    // An admin revokes it in another tab.
    const adminTab = await b.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await adminTab.goto(`${t.url}/sign-in`);
    await adminTab.getByLabel('API token').fill(admin.token);
    await adminTab.getByRole('button', { name: 'Sign in' }).click();
    await adminTab.getByRole('link', { name: 'Admin' }).click();
    const victimRow = adminTab.getByRole('row').filter({ hasText: victim.name });
    await victimRow.getByText('Tokens').click();
    await victimRow.getByRole('button', { name: 'Revoke' }).click();
    await victimRow.getByText(/^revoked /).waitFor();
    await adminTab.close();
    const tokens = (await api(`/api/v1/principals/${victim.id}/tokens`)).body.tokens as {
      revoked_at: string;
    }[];
    expect(tokens[0].revoked_at).not.toBeNull();
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('status').textContent()).toMatch(/expired or the token was revoked/);
    expect(await page.evaluate("sessionStorage.getItem('constellation.token')")).toBeNull();
  });

  it('fits a phone-width screen without horizontal scrolling', async () => {
    const phone = await b.browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${t.url}/`);
    await phone.locator(`svg [data-site="${formSlug}"]`).waitFor();
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.close();
  });
});
