import { createServer, Server } from 'node:http';

import request from 'supertest';
import { allowLongUploads } from '@constellation/job-files';
import { tes } from './support/tes-client';
import { waitFor } from './support/wait-for';
import { PulsarRestFixture, startPulsarRestFixture } from './support/pulsar-rest-fixture';
import { untilFinished } from './support/dispatch-suite';
import { COUNT_INPUTS, PULSAR_DISPATCH } from './support/pulsar-dispatch-cases';
import { cancelRunningTask, runCountTask, runFailingExecutor } from './support/pulsar-dispatch-cases';

jest.setTimeout(60_000);

describe('dispatch to Pulsar REST sites', () => {
  let f: PulsarRestFixture;

  beforeAll(async () => {
    f = await startPulsarRestFixture({
      env: PULSAR_DISPATCH,
      token: 'pulsar-private-token',
      files: COUNT_INPUTS,
    });
  });
  afterAll(() => f?.close());

  it("lets uploads to the job-files endpoint outlast Node's 300 s requestTimeout (no 408)", () => {
    const plain = createServer();
    expect(plain.requestTimeout).toBe(300_000);
    allowLongUploads(plain);
    expect(plain.requestTimeout).toBe(0);
    expect(plain.headersTimeout).toBeGreaterThan(0);
    expect(plain.timeout).toBeGreaterThan(0);
    const server = f.t.app.getHttpServer() as Server;
    expect(server.requestTimeout).toBe(0);
    expect(server.headersTimeout).toBeGreaterThan(0);
  });

  it('probes the site through /healthz with its token and records its version', async () => {
    const s = await request(f.t.url)
      .get(`/api/v1/sites/${f.slug}`)
      .set('Authorization', f.admin.bearer)
      .expect(200);
    expect(s.body.probe.version).toEqual(expect.any(String));
    const health = f.pulsar.requests().find((r) => r.path === '/healthz');
    expect(health?.query.private_token).toBe('pulsar-private-token');
  });

  it('runs a task: Pulsar pulls the http input, the broker delivers the output, logs come back', async () => {
    const task = await runCountTask(tes(f.t.url, f.alice), f.store, f.slug);
    const jobId = task.logs[0].metadata.remote_id as string;
    const submit = f.pulsar.requests().find((r) => r.method === 'POST' && r.path.endsWith('/submit'));
    expect(submit?.query.private_token).toBe('pulsar-private-token');
    // Once the outputs are delivered the job's directory at the site is removed.
    await waitFor('the cleanup', async () =>
      f.pulsar.requests().find((r) => r.method === 'DELETE' && r.path.endsWith(`/jobs/${jobId}`)),
    );
  });

  it('reports a failing executor as EXECUTOR_ERROR with its exit code', async () => {
    await runFailingExecutor(tes(f.t.url, f.alice), f.slug);
  });

  it('cancels a running job at the site', async () => {
    await cancelRunningTask(tes(f.t.url, f.alice), f.slug, f.pulsar, async (id) => {
      // Killed at the site, then its job directory removed.
      const calls = f.pulsar.requests().filter((r) => r.path.includes(`/jobs/${id}-1`));
      const cancel = calls.findIndex((r) => r.method === 'PUT' && r.path.endsWith('/cancel'));
      const clean = calls.findIndex((r) => r.method === 'DELETE');
      expect(cancel).toBeGreaterThanOrEqual(0);
      expect(clean).toBeGreaterThan(cancel);
      expect(f.pulsar.job(`${id}-1`)).toBeUndefined();
    });
  });

  it('refuses at placement a task whose input Pulsar cannot fetch', async () => {
    const { body } = await tes(f.t.url, f.alice)
      .create({
        inputs: [{ url: 's3://bucket/key', path: '/data/x', type: 'FILE' }],
        executors: [{ image: 'alpine', command: ['true'] }],
        resources: { zones: [f.slug] },
      })
      .expect(200);
    const task = await untilFinished(tes(f.t.url, f.alice), body.id, 'the task to fail');
    expect(task.state).toBe('SYSTEM_ERROR');
    expect(task.logs[0].system_logs[0]).toContain('input_scheme');
  });
});
