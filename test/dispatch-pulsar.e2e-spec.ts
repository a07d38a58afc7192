import { createServer, Server } from 'node:http';

import request from 'supertest';
import { allowLongUploads } from '@constellation/job-files';
import { FakePulsarSite, startFakePulsarSite } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { onHostPulsarSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { endLeftoverTasks, registerSiteUp, untilFinished } from './support/dispatch-suite';
import { COUNT_INPUTS, PULSAR_DISPATCH } from './support/pulsar-dispatch-cases';
import { cancelRunningTask, runCountTask, runFailingExecutor } from './support/pulsar-dispatch-cases';
import { DataStoreServer, startDataStore } from './support/data-store-server';

jest.setTimeout(60_000);

describe('dispatch to Pulsar REST sites', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let pulsar: FakePulsarSite;
  let store: DataStoreServer;
  let slug: string;

  beforeAll(async () => {
    t = await startTestApp(PULSAR_DISPATCH);
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'submitter');
    pulsar = await startFakePulsarSite({ token: 'pulsar-private-token' });
    store = await startDataStore(COUNT_INPUTS);
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      onHostPulsarSiteDocument({
        kind: 'pulsar-rest',
        url: pulsar.url,
        credentials: { token: 'pulsar-private-token' },
      }),
    ));
  });
  afterAll(async () => {
    await t?.close();
    await pulsar?.close();
    await store?.close();
  });

  it("lets uploads to the job-files endpoint outlast Node's 300 s requestTimeout (no 408)", () => {
    const plain = createServer();
    expect(plain.requestTimeout).toBe(300_000);
    allowLongUploads(plain);
    expect(plain.requestTimeout).toBe(0);
    expect(plain.headersTimeout).toBeGreaterThan(0);
    expect(plain.timeout).toBeGreaterThan(0);
    const server = t.app.getHttpServer() as Server;
    expect(server.requestTimeout).toBe(0);
    expect(server.headersTimeout).toBeGreaterThan(0);
  });

  it('probes the site through /healthz with its token and records its version', async () => {
    const s = await request(t.url)
      .get(`/api/v1/sites/${slug}`)
      .set('Authorization', admin.bearer)
      .expect(200);
    expect(s.body.probe.version).toEqual(expect.any(String));
    const health = pulsar.requests().find((r) => r.path === '/healthz');
    expect(health?.query.private_token).toBe('pulsar-private-token');
  });

  it('runs a task: Pulsar pulls the http input, the broker delivers the output, logs come back', async () => {
    const task = await runCountTask(tes(t.url, alice), store, slug);
    const jobId = task.logs[0].metadata.remote_id as string;
    const submit = pulsar.requests().find((r) => r.method === 'POST' && r.path.endsWith('/submit'));
    expect(submit?.query.private_token).toBe('pulsar-private-token');
    // Once the outputs are delivered the job's directory at the site is removed.
    await waitFor('the cleanup', async () =>
      pulsar.requests().find((r) => r.method === 'DELETE' && r.path.endsWith(`/jobs/${jobId}`)),
    );
  });

  it('reports a failing executor as EXECUTOR_ERROR with its exit code', async () => {
    await runFailingExecutor(tes(t.url, alice), slug);
  });

  it('cancels a running job at the site', async () => {
    await cancelRunningTask(tes(t.url, alice), slug, pulsar, async (id) => {
      // Killed at the site, then its job directory removed.
      const calls = pulsar.requests().filter((r) => r.path.includes(`/jobs/${id}-1`));
      const cancel = calls.findIndex((r) => r.method === 'PUT' && r.path.endsWith('/cancel'));
      const clean = calls.findIndex((r) => r.method === 'DELETE');
      expect(cancel).toBeGreaterThanOrEqual(0);
      expect(clean).toBeGreaterThan(cancel);
      expect(pulsar.job(`${id}-1`)).toBeUndefined();
    });
  });

  it('refuses at placement a task whose input Pulsar cannot fetch', async () => {
    const { body } = await tes(t.url, alice)
      .create({
        inputs: [{ url: 's3://bucket/key', path: '/data/x', type: 'FILE' }],
        executors: [{ image: 'alpine', command: ['true'] }],
        resources: { zones: [slug] },
      })
      .expect(200);
    const task = await untilFinished(tes(t.url, alice), body.id, 'the task to fail');
    expect(task.state).toBe('SYSTEM_ERROR');
    expect(task.logs[0].system_logs[0]).toContain('input_scheme');
  });
});
