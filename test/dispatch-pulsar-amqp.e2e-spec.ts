import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  amqpForTests,
  startFakePulsarAmqp,
  uniqueManager,
  type FakePulsarAmqp,
} from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { onHostPulsarSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { endLeftoverTasks, registerSiteUp } from './support/dispatch-suite';
import { COUNT_INPUTS, PULSAR_DISPATCH } from './support/pulsar-dispatch-cases';
import { cancelRunningTask, runCountTask, runFailingExecutor } from './support/pulsar-dispatch-cases';
import { startTcpForwarder, type TcpForwarder } from './support/tcp-forwarder';
import { DataStoreServer, startDataStore } from './support/data-store-server';

jest.setTimeout(60_000);

const amqp = amqpForTests();

amqp.describe('dispatch to Pulsar AMQP sites', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let pulsar: FakePulsarAmqp;
  let store: DataStoreServer;
  let forwarder: TcpForwarder;
  let dataDir: string;
  let slug: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dispatch-amqp-'));
    forwarder = await startTcpForwarder();
    t = await startTestApp({
      AMQP_URL: amqp.url,
      CONSTELLATION_DATA_DIR: dataDir,
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      ...PULSAR_DISPATCH,
    });
    forwarder.pointAt(t.url);
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'submitter');
    pulsar = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    store = await startDataStore(COUNT_INPUTS);
    // Sites keep the user and password in their credentials, not in the URL; the URL names the vhost.
    const broker = new URL(amqp.url);
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      onHostPulsarSiteDocument({
        kind: 'pulsar-amqp',
        url: `${broker.protocol}//${broker.host}/${broker.pathname.length > 1 ? broker.pathname.slice(1) : '%2F'}`,
        pulsar_manager: pulsar.manager,
        credentials: {
          username: decodeURIComponent(broker.username),
          password: decodeURIComponent(broker.password),
        },
      }),
    ));
  });
  afterAll(async () => {
    await t?.close();
    await pulsar?.close();
    await store?.close();
    await forwarder?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a task: Pulsar pulls the http input, posts the output to job-files, the broker delivers it', async () => {
    const task = await runCountTask(tes(t.url, alice), store, slug);
    const jobId = task.logs[0].metadata.remote_id as string;
    // Pulsar reached the broker through its public URL, with the job's key.
    const posts = pulsar.posts().filter((p) => p.url.includes(jobId));
    expect(posts.length).toBeGreaterThan(0);
    expect(
      posts.every((p) => p.status === 200 && p.url.startsWith(`${forwarder.url}/api/v1/job-files/`)),
    ).toBe(true);
    // Once the outputs are delivered, what Pulsar posted is removed; a tombstone refuses late uploads.
    const filesOf = async (): Promise<number> =>
      (
        await t.app
          .get(DataSource)
          .query('SELECT count(*)::int AS n FROM job_file WHERE job_id = $1', [jobId])
      )[0].n;
    await waitFor('the spool cleaned', async () => ((await filesOf()) === 0 ? true : undefined));
    const endpoint = new URL(
      String(
        (
          pulsar.setups().find((s) => s.job_id === jobId)?.remote_staging as {
            action_mapper: { files_endpoint: string };
          }
        ).action_mapper.files_endpoint,
      ),
    );
    await request(t.url)
      .post(`/api/v1/job-files/${encodeURIComponent(jobId)}`)
      .query({ key: endpoint.searchParams.get('key'), path: 'late.txt', file_type: 'output_workdir' })
      .attach('file', Buffer.from('late'), 'late.txt')
      .expect(403);
    expect(await filesOf()).toBe(0);
  });

  it('reports a failing executor as EXECUTOR_ERROR with its exit code', async () => {
    await runFailingExecutor(tes(t.url, alice), slug);
  });

  it('cancels a running job at the site', async () => {
    await cancelRunningTask(tes(t.url, alice), slug, pulsar, async (id) => {
      await waitFor('the kill message', async () => (pulsar.kills().includes(`${id}-1`) ? true : undefined));
      expect(pulsar.job(`${id}-1`)?.status).toBe('cancelled');
    });
  });

  it('the job-files endpoint needs the job key (403) and refuses paths that climb out (400)', async () => {
    const jobId = '0197a0b2-0000-7000-8000-000000000099-1';
    const at = `/api/v1/job-files/${jobId}`;
    await request(t.url).get(at).query({ key: 'wrong', path: 'x' }).expect(403);
    await request(t.url).get(at).query({ path: 'x' }).expect(403);
    await request(t.url)
      .post(at)
      .query({ key: 'wrong', path: 'x', file_type: 'output' })
      .attach('file', Buffer.from('hi'), 'x')
      .expect(403);
    // A real key, taken from a URL the broker made for a job.
    const [setup] = pulsar.setups();
    const endpoint = new URL(
      String(
        (setup.remote_staging as { action_mapper: { files_endpoint: string } }).action_mapper.files_endpoint,
      ),
    );
    const realJob = decodeURIComponent(endpoint.pathname.split('/').pop() ?? '');
    const key = endpoint.searchParams.get('key') ?? '';
    await request(t.url)
      .get(`/api/v1/job-files/${realJob}`)
      .query({ key, path: '../../etc/passwd' })
      .expect(400);
    await request(t.url)
      .post(`/api/v1/job-files/${realJob}`)
      .query({ key, path: '/a/../../b', file_type: 'output' })
      .attach('file', Buffer.from('hi'), 'x')
      .expect(400);
    await request(t.url).get(`/api/v1/job-files/${realJob}`).query({ key, path: 'no/such/file' }).expect(404);
  });
});
