import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, connect as tcpConnect, createServer as createTcpServer } from 'node:net';
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
import { siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { endLeftoverTasks, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';
import { DataStoreServer, startDataStore } from './support/data-store-server';

jest.setTimeout(60_000);

const amqp = amqpForTests();
const describeAmqp = amqp.skipReason === null ? describe : describe.skip;

/**
 * CONSTELLATION_PUBLIC_URL must be known before the app starts, and the test app listens on a port chosen at
 * start: a TCP forwarder on a port of its own is the public URL, pointed at the app once it listens.
 */
async function startForwarder() {
  let target = 0;
  const server = createTcpServer((socket) => {
    const upstream = tcpConnect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pointAt: (url: string) => {
      target = Number(new URL(url).port);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describeAmqp('dispatch to Pulsar AMQP sites', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let pulsar: FakePulsarAmqp;
  let store: DataStoreServer;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  let dataDir: string;
  let slug: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dispatch-amqp-'));
    forwarder = await startForwarder();
    t = await startTestApp({
      AMQP_URL: amqp.url,
      CONSTELLATION_DATA_DIR: dataDir,
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      CONSTELLATION_DISPATCH_SECONDS: '0.05',
      CONSTELLATION_TRACK_SECONDS: '0.05',
      CONSTELLATION_PROBE_SECONDS: '1',
      CONSTELLATION_LEASE_SECONDS: '10',
    });
    forwarder.pointAt(t.url);
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    alice = await createPrincipal(t, 'submitter');
    pulsar = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    store = await startDataStore({ '/data/genome.fa': '>chr1\nACGT\n' });
    // Sites keep the user and password in their credentials, not in the URL; the URL names the vhost.
    const broker = new URL(amqp.url);
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      siteDocument({
        kind: 'pulsar-amqp',
        url: `${broker.protocol}//${broker.host}/${broker.pathname.length > 1 ? broker.pathname.slice(1) : '%2F'}`,
        pulsar_manager: pulsar.manager,
        credentials: {
          username: decodeURIComponent(broker.username),
          password: decodeURIComponent(broker.password),
        },
        runtimes: ['none'],
        run_images_on_host: true,
        capacity: { max_concurrent_tasks: 10 },
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

  const finished = (id: string) => untilFinished(tes(t.url, alice), id, 'the task to finish');

  it('runs a task: Pulsar pulls the http input, posts the output to job-files, the broker delivers it', async () => {
    const { body } = await tes(t.url, alice)
      .create({
        name: 'count',
        inputs: [
          { url: `${store.url}/data/genome.fa`, path: '/data/genome.fa', type: 'FILE' },
          { content: 'inline config\n', path: '/data/config.txt' },
        ],
        outputs: [{ path: '/out/result.txt', url: `${store.url}/results/result.txt`, type: 'FILE' }],
        executors: [
          { image: 'alpine', command: ['cat', '/data/genome.fa', '/data/config.txt'] },
          { image: 'alpine', command: ['sh', '-c', 'echo counted > /out/result.txt'] },
        ],
        resources: { zones: [slug] },
      })
      .expect(200);
    const task = await finished(body.id);
    expect(task.state).toBe('COMPLETE');
    expect(task.logs).toHaveLength(1);
    expect(task.logs[0].logs).toEqual([
      expect.objectContaining({ exit_code: 0, stdout: '>chr1\nACGT\ninline config\n' }),
      expect.objectContaining({ exit_code: 0 }),
    ]);
    expect(task.logs[0].outputs).toEqual([
      { url: `${store.url}/results/result.txt`, path: '/out/result.txt', size_bytes: '8' },
    ]);
    expect(store.received.get('/results/result.txt')).toBe('counted\n');
    const jobId = `${body.id}-1`;
    expect(task.logs[0].metadata.remote_id).toBe(jobId);
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
    const { body } = await tes(t.url, alice)
      .create({
        executors: [{ image: 'alpine', command: ['sh', '-c', 'exit 3'] }],
        resources: { zones: [slug] },
      })
      .expect(200);
    const task = await finished(body.id);
    expect(task.state).toBe('EXECUTOR_ERROR');
    expect(task.logs[0].logs[0].exit_code).toBe(3);
  });

  it('cancels a running job at the site', async () => {
    pulsar.hold();
    try {
      const { body } = await tes(t.url, alice)
        .create({ executors: [{ image: 'alpine', command: ['sleep', '600'] }], resources: { zones: [slug] } })
        .expect(200);
      await untilState(tes(t.url, alice), body.id, 'RUNNING', 'the job to run');
      await tes(t.url, alice).cancel(body.id).expect(200);
      await untilState(tes(t.url, alice), body.id, 'CANCELED', 'CANCELED');
      await waitFor('the kill message', async () =>
        pulsar.kills().includes(`${body.id}-1`) ? true : undefined,
      );
      expect(pulsar.job(`${body.id}-1`)?.status).toBe('cancelled');
    } finally {
      pulsar.release();
    }
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
