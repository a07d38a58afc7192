import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  amqpForTests,
  simulatePlan,
  startFakePulsarAmqp,
  startFakePulsarSite,
  startFakeTesSite,
  uniqueManager,
  type FakePulsarSimulator,
} from '@constellation/testing';
import { SelfTestFiles } from '../libs/dispatch/src/self-test/self-test-files';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTcpForwarder, type TcpForwarder } from './support/tcp-forwarder';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

const amqp = amqpForTests();
const itAmqp = amqp.skipReason === null ? it : it.skip;

interface Step {
  name: string;
  ok: boolean;
  duration_ms: number;
  detail: string;
}
interface Result {
  ok: boolean;
  started_at: string;
  finished_at: string;
  steps: Step[];
}

/** The job ran, but its output was never collected: Pulsar has nothing to hand back. */
const losesOutputs: FakePulsarSimulator = (job, ctx) =>
  simulatePlan(job, {
    ...ctx,
    put: (dir, name, data) => (/(^|\/)o0$/.test(name) ? undefined : ctx.put(dir, name, data)),
  });

/** The steps of a TES site's self-test, in order. */
const TES_STEPS = [
  'reach the site',
  'authenticate',
  'submit',
  'fetch the input',
  'run',
  'stdout and exit code',
  'deliver the output',
  'cancel a job',
  'clean up',
];

const PULSAR_STEPS = (runtimes: string[]) => [
  'reach the site',
  'authenticate',
  'find the manager',
  ...runtimes.flatMap((r) =>
    ['submit', 'fetch the input', 'run', 'stdout and exit code', 'deliver the output'].map(
      (s) => `${s} (${r})`,
    ),
  ),
  'cancel a job',
  'clean up',
];

describe('site self-test (POST /api/v1/sites/{ref}/test)', () => {
  let t: TestApp;
  let forwarder: TcpForwarder;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    forwarder = await startTcpForwarder();
    t = await startTestApp({
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      CONSTELLATION_PROBE_SECONDS: '0',
      CONSTELLATION_SELF_TEST_RUN_SECONDS: '8',
      CONSTELLATION_LEASE_SECONDS: '4',
      ...(amqp.skipReason === null ? { AMQP_URL: amqp.url } : {}),
    });
    forwarder.pointAt(t.url);
    admin = await createPrincipal(t, 'admin');
    provider = await createPrincipal(t, 'provider');
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await t?.close();
    await forwarder?.close();
  });

  const register = async (doc: Record<string, unknown>): Promise<string> => {
    const res = await request(t.url).post('/api/v1/sites').set('Authorization', provider.bearer).send(doc);
    expect(res.status).toBe(201);
    return res.body.slug as string;
  };
  const selfTest = async (slug: string, who = provider): Promise<Result> => {
    const res = await request(t.url).post(`/api/v1/sites/${slug}/test`).set('Authorization', who.bearer);
    expect(res.status).toBe(200);
    return res.body as Result;
  };
  /** Registers a site from `doc` (as its provider) and runs its self-test. */
  const registerAndTest = async (doc: Record<string, unknown>): Promise<Result> =>
    selfTest(await register(doc));
  /** A self-test while the broker's public URL leads nowhere, as for a site whose firewall blocks the broker. */
  const selfTestCutOff = async (slug: string): Promise<Result> => {
    forwarder.pointAt('http://127.0.0.1:1');
    try {
      return await selfTest(slug);
    } finally {
      forwarder.pointAt(t.url);
    }
  };
  const firstFailure = (r: Result) => r.steps.find((s) => !s.ok);
  /** The failing step, and that every step after it the test names was skipped because of it. */
  const failsAt = (r: Result, name: string, words: string | RegExp) => {
    expect(r.ok).toBe(false);
    const failed = firstFailure(r);
    expect(failed?.name).toBe(name);
    if (typeof words === 'string') expect(failed?.detail).toContain(words);
    else expect(failed?.detail).toMatch(words);
    return failed as Step;
  };
  const skippedBecause = (r: Result, name: string) =>
    r.steps.filter((s) => s.detail === `skipped: ${name} failed`).map((s) => s.name);
  const taskCount = async () =>
    Number((await t.app.get(DataSource).query('SELECT count(*) AS n FROM task'))[0].n);

  const tesSite = async (opts: Parameters<typeof startFakeTesSite>[0] = {}) => {
    const fake = await startFakeTesSite({
      transfers: true,
      requireToken: 'tes-token',
      stepDelayMs: 10,
      ...opts,
    });
    closers.push(() => fake.close());
    return fake;
  };
  const pulsarSite = async (opts: Parameters<typeof startFakePulsarSite>[0] = {}) => {
    const fake = await startFakePulsarSite({ token: 'pulsar-token', managers: ['selftest'], ...opts });
    closers.push(() => fake.close());
    return fake;
  };

  describe('TES', () => {
    it('passes against a working TES site, keeps the result with the site and in its events, creates no task', async () => {
      const fake = await tesSite();
      const slug = await register(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'tes-token' } }),
      );
      const tasksBefore = await taskCount();
      const result = await selfTest(slug);
      expect(result.steps.map((s) => s.name)).toEqual(TES_STEPS);
      expect(result.steps.filter((s) => !s.ok)).toEqual([]);
      expect(result.ok).toBe(true);
      expect(Date.parse(result.finished_at)).toBeGreaterThanOrEqual(Date.parse(result.started_at));
      for (const s of result.steps) expect(s.duration_ms).toBeGreaterThanOrEqual(0);
      // The broker's own jobs: marked at the site, no task row, nobody's quota.
      expect(await taskCount()).toBe(tasksBefore);
      const remote = fake.tasks();
      expect(remote).toHaveLength(2);
      for (const task of remote) {
        expect(task.name).toBe('constellation-self-test');
        expect(task.tags?.['constellation.self_test']).toBe('true');
        expect(task.tags?.['constellation.task']).toMatch(/^selftest-/);
      }
      expect(remote.map((r) => r.state).sort()).toEqual(['CANCELED', 'COMPLETE']);

      const site = await request(t.url)
        .get(`/api/v1/sites/${slug}`)
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(site.body.last_self_test).toEqual(result);
      const events = await request(t.url)
        .get(`/api/v1/sites/${slug}/events`)
        .set('Authorization', provider.bearer)
        .expect(200);
      const runs = events.body.events.filter((e: { kind: string }) => e.kind === 'self_test');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ to: 'passed', actor_id: provider.id });
      // Its one-time files are gone with the test.
      const left = await t.app
        .get(DataSource)
        .query('SELECT count(*) AS n FROM self_test_file WHERE site_id = $1', [site.body.id]);
      expect(Number(left[0].n)).toBe(0);
    });

    it('fails at "reach the site" when nothing listens at the URL, skipping what depends on it', async () => {
      const result = await registerAndTest(
        siteDocument({ kind: 'tes', url: 'http://127.0.0.1:1', credentials: { token: 'x' } }),
      );
      failsAt(result, 'reach the site', 'the broker cannot reach http://127.0.0.1:1');
      // Every step but the first and the clean-up depends on reaching the site.
      expect(skippedBecause(result, 'reach the site')).toEqual(TES_STEPS.slice(1, -1));
      expect(result.steps.at(-1)).toMatchObject({ name: 'clean up', ok: true });
    });

    it('fails at "authenticate" with a wrong token', async () => {
      const fake = await tesSite();
      const result = await registerAndTest(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'wrong' } }),
      );
      failsAt(result, 'authenticate', 'the TES site answered 401: check the token in credentials');
      expect(result.steps[0]).toMatchObject({ name: 'reach the site', ok: true });
    });

    it('fails at "fetch the input" when the site cannot reach the broker', async () => {
      const fake = await tesSite();
      const slug = await register(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'tes-token' } }),
      );
      const result = await selfTestCutOff(slug);
      failsAt(
        result,
        'fetch the input',
        `the TES site did not fetch ${forwarder.url}/api/v1/self-test-files/<one-time token>/fetched.txt: the site cannot reach the broker's public URL`,
      );
      expect(skippedBecause(result, 'fetch the input')).toEqual([
        'run',
        'stdout and exit code',
        'deliver the output',
      ]);
    });

    it('fails at "deliver the output" when the site cannot upload it', async () => {
      const fake = await tesSite({ refuseUploads: true });
      const result = await registerAndTest(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'tes-token' } }),
      );
      const failed = result.steps.filter((s) => !s.ok).map((s) => s.name);
      // The site ends the job SYSTEM_ERROR over the upload: the run says so, and the output step says why.
      expect(failed).toEqual(['run', 'deliver the output']);
      const step = result.steps.find((s) => s.name === 'deliver the output') as Step;
      expect(step.detail).toContain('the output never reached');
      expect(step.detail).toContain('the site did not upload it');
      expect(step.detail).toContain('HTTP 403 from the outbound proxy');
      // The site quoted the upload URL; its one-time token is not kept in the stored result.
      expect(step.detail).toContain('/api/v1/self-test-files/<one-time token>/result.txt: HTTP 403');
      expect(result.steps.find((s) => s.name === 'stdout and exit code')?.ok).toBe(true);
    });

    it('runs one self-test of a site at a time: a second one meanwhile is a 409', async () => {
      const fake = await tesSite({ hold: true });
      const slug = await register(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'tes-token' } }),
      );
      const first = request(t.url)
        .post(`/api/v1/sites/${slug}/test`)
        .set('Authorization', provider.bearer)
        .then((r) => r);
      await waitFor('the first test job at the site', async () =>
        fake.tasks().length > 0 ? true : undefined,
      );
      const second = await request(t.url)
        .post(`/api/v1/sites/${slug}/test`)
        .set('Authorization', admin.bearer);
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({
        code: 'CONFLICT',
        message: `a self-test of site ${slug} is already running; its result will be the site's last_self_test`,
      });
      fake.release();
      expect((await first).body.ok).toBe(true);
      // The lock went with the first run.
      expect((await selfTest(slug)).ok).toBe(true);
    });

    it('is for the owner or an admin only, and answers 404 for an unknown site', async () => {
      const fake = await tesSite();
      const slug = await register(
        siteDocument({ kind: 'tes', url: fake.url, credentials: { token: 'tes-token' } }),
      );
      const stranger = await createPrincipal(t, 'provider');
      const submitter = await createPrincipal(t, 'submitter');
      const refused = await request(t.url)
        .post(`/api/v1/sites/${slug}/test`)
        .set('Authorization', stranger.bearer);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain(`only the owner of site ${slug} or an admin may test it`);
      await request(t.url)
        .post(`/api/v1/sites/${slug}/test`)
        .set('Authorization', submitter.bearer)
        .expect(403);
      const missing = await request(t.url)
        .post('/api/v1/sites/no-such-site/test')
        .set('Authorization', admin.bearer);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('SITE_NOT_FOUND');
      expect((await selfTest(slug, admin)).ok).toBe(true);
    });
  });

  describe('the one-time test files', () => {
    it('serves an offered input and takes an output at their tokens only, within the size limit', async () => {
      const slug = await register(siteDocument({ kind: 'tes', url: 'http://127.0.0.1:1' }));
      const { body: site } = await request(t.url)
        .get(`/api/v1/sites/${slug}`)
        .set('Authorization', admin.bearer);
      const files = t.app.get(SelfTestFiles);
      const input = await files.offerInput(site.id, Buffer.from('fetched abc\n'), 'fetched.txt', 60_000);
      const output = await files.expectOutput(site.id, 'result.txt', 60_000);
      const path = (url: string) => new URL(url).pathname;
      expect(input.url.startsWith(`${forwarder.url}/api/v1/self-test-files/`)).toBe(true);

      // No token is asked of the site: the URL is the credential.
      const got = await request(t.url).get(path(input.url)).expect(200);
      expect(got.text).toBe('fetched abc\n');
      expect((await files.state(input.token)).touched).toBe(true);
      const unknown = await request(t.url).get('/api/v1/self-test-files/not-a-token/fetched.txt').expect(404);
      expect(unknown.body).toMatchObject({
        code: 'NOT_FOUND',
        message: 'no such self-test file: the test is over or the URL is wrong',
      });
      // An output token serves nothing; an input token takes nothing.
      await request(t.url).get(path(output.url)).expect(404);
      await request(t.url).put(path(input.url)).set('content-type', 'text/plain').send('x').expect(404);

      const tooBig = await request(t.url)
        .put(path(output.url))
        .set('content-type', 'application/octet-stream')
        .send(Buffer.alloc(64 * 1024 + 1, 'a'));
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.message).toBe('a self-test output is at most 65536 bytes');
      expect((await files.state(output.token)).content).toBeNull();
      await request(t.url)
        .put(path(output.url))
        .set('content-type', 'application/octet-stream')
        .send(Buffer.from('result\n'))
        .expect(204);
      expect((await files.state(output.token)).content?.toString()).toBe('result\n');

      await files.remove([input.token, output.token]);
      await request(t.url).get(path(input.url)).expect(404);
    });
  });

  describe('Pulsar REST', () => {
    const doc = (url: string, extra: Record<string, unknown> = {}) =>
      siteDocument({
        kind: 'pulsar-rest',
        url,
        pulsar_manager: 'selftest',
        credentials: { token: 'pulsar-token' },
        runtimes: ['docker', 'none'],
        ...extra,
      });

    it('passes in each declared runtime', async () => {
      const fake = await pulsarSite();
      const result = await registerAndTest(doc(fake.url));
      expect(result.steps.map((s) => s.name)).toEqual(PULSAR_STEPS(['docker', 'none']));
      expect(result.steps.filter((s) => !s.ok)).toEqual([]);
      expect(result.ok).toBe(true);
      // Each run was restricted to its runtime; the jobs are gone from Pulsar after the clean-up.
      const plans = fake
        .requests()
        .filter(
          (r) =>
            r.method === 'POST' && r.path.endsWith('/files') && r.query.name === 'constellation-job.json',
        );
      expect(plans.length).toBe(3);
      expect(fake.requests().filter((r) => r.method === 'DELETE').length).toBe(3);
    });

    it('fails at "authenticate" with a wrong token', async () => {
      const fake = await pulsarSite();
      const result = await registerAndTest(doc(fake.url, { credentials: { token: 'wrong' } }));
      failsAt(
        result,
        'authenticate',
        "Pulsar answered 401: check the token in credentials (Pulsar's private_token in app.yml)",
      );
    });

    it('fails at "find the manager" when Pulsar has no such manager', async () => {
      const fake = await pulsarSite();
      const result = await registerAndTest(doc(fake.url, { pulsar_manager: 'nosuch' }));
      failsAt(
        result,
        'find the manager',
        'it has no manager named "nosuch"; add it under managers in Pulsar\'s app.yml',
      );
      expect(result.steps.slice(0, 2).every((s) => s.ok)).toBe(true);
      expect(skippedBecause(result, 'find the manager')).toContain('submit (docker)');
    });

    it('fails at "fetch the input" when Pulsar cannot reach the broker', async () => {
      const fake = await pulsarSite();
      const slug = await register(doc(fake.url, { runtimes: ['docker'] }));
      const result = await selfTestCutOff(slug);
      failsAt(
        result,
        'fetch the input (docker)',
        `Pulsar did not fetch ${forwarder.url}/api/v1/self-test-files/<one-time token>/fetched.txt: the site cannot reach the broker's public URL`,
      );
      expect(result.steps.find((s) => s.name === 'cancel a job')?.ok).toBe(true);
    });

    it('fails at "deliver the output" when the job\'s output never comes back', async () => {
      const fake = await pulsarSite({ simulate: losesOutputs });
      const result = await registerAndTest(doc(fake.url, { runtimes: ['docker'] }));
      const step = result.steps.find((s) => s.name === 'deliver the output (docker)') as Step;
      expect(step.ok).toBe(false);
      expect(step.detail).toContain('the output never reached');
      expect(step.detail).toContain('Pulsar did not hand it back to the broker');
      expect(result.steps.find((s) => s.name === 'fetch the input (docker)')?.ok).toBe(true);
    });

    it('fails at "reach the site" when Pulsar is down', async () => {
      const fake = await pulsarSite();
      const slug = await register(doc(fake.url));
      await fake.down();
      const result = await selfTest(slug);
      failsAt(result, 'reach the site', `the broker cannot reach ${fake.url}`);
    });
  });

  describe('Pulsar AMQP', () => {
    const amqpDoc = (manager: string, extra: Record<string, unknown> = {}) => {
      const broker = new URL(amqp.url);
      return siteDocument({
        kind: 'pulsar-amqp',
        url: `${broker.protocol}//${broker.host}/${broker.pathname.length > 1 ? broker.pathname.slice(1) : '%2F'}`,
        pulsar_manager: manager,
        credentials: {
          username: decodeURIComponent(broker.username),
          password: decodeURIComponent(broker.password),
        },
        runtimes: ['none'],
        ...extra,
      });
    };
    const amqpSite = async (opts: { simulate?: FakePulsarSimulator } = {}) => {
      const fake = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager(), ...opts });
      closers.push(() => fake.close());
      return fake;
    };

    itAmqp('passes against a working Pulsar', async () => {
      const fake = await amqpSite();
      const result = await registerAndTest(amqpDoc(fake.manager));
      expect(result.steps.map((s) => s.name)).toEqual(PULSAR_STEPS(['none']));
      expect(result.steps.filter((s) => !s.ok)).toEqual([]);
      expect(result.ok).toBe(true);
      expect(fake.setups().length).toBe(2);
    });

    itAmqp('fails at "reach the site" when no message broker listens', async () => {
      const result = await registerAndTest(amqpDoc(uniqueManager(), { url: 'amqp://127.0.0.1:1/%2F' }));
      failsAt(result, 'reach the site', "the broker cannot reach the site's message broker");
    });

    itAmqp('fails at "authenticate" with a wrong password', async () => {
      const fake = await amqpSite();
      const broker = new URL(amqp.url);
      const result = await registerAndTest(
        amqpDoc(fake.manager, {
          credentials: { username: decodeURIComponent(broker.username), password: 'wrong' },
        }),
      );
      failsAt(
        result,
        'authenticate',
        'the message broker refused our login: check username and password in credentials',
      );
    });

    itAmqp('fails at "find the manager" when no Pulsar consumes its queues', async () => {
      const manager = uniqueManager();
      const result = await registerAndTest(amqpDoc(manager));
      failsAt(result, 'find the manager', `check that Pulsar's app.yml has manager "${manager}"`);
    });

    itAmqp('fails at "fetch the input" when Pulsar cannot reach the broker', async () => {
      const fake = await amqpSite();
      const slug = await register(amqpDoc(fake.manager));
      const result = await selfTestCutOff(slug);
      failsAt(result, 'fetch the input (none)', 'Pulsar did not fetch');
      expect(firstFailure(result)?.detail).toContain("the site cannot reach the broker's public URL");
    });

    itAmqp('fails at "deliver the output" when the output is never posted back', async () => {
      const fake = await amqpSite({ simulate: losesOutputs });
      const result = await registerAndTest(amqpDoc(fake.manager));
      const step = result.steps.find((s) => s.name === 'deliver the output (none)') as Step;
      expect(step.ok).toBe(false);
      expect(step.detail).toContain('the output never reached');
      expect(step.detail).toContain("Pulsar did not post it to the broker's job-files endpoint");
    });
  });
});
