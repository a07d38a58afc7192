import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  amqpForTests,
  FakePulsarAmqp,
  FakePulsarSite,
  startFakePulsarAmqp,
  startFakePulsarSite,
  uniqueManager,
} from '@constellation/testing';
import { DispatchLoop } from '../libs/dispatch/src/dispatch.loop';
import { BrokerProcess, spawnBroker, waitForOk } from './support/broker-process';
import { createPrincipal, TestPrincipal } from './support/principals';
import { onHostPulsarSiteDocument, pulsarRestSiteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { endLeftoverTasks, FINAL_STATES, registerSiteUp, startDispatchApp } from './support/dispatch-suite';
import { DataStoreServer, startDataStore } from './support/data-store-server';

jest.setTimeout(120_000);

const amqp = amqpForTests();
const describeAmqp = amqp.skipReason === null ? describe : describe.skip;

/** Replicas keep nothing of their own: each has its own data folder, and they share only the database. */
describeAmqp('two replicas, one database, no shared folder (Pulsar AMQP)', () => {
  const dirs: string[] = [];
  let receiving: TestApp;
  let delivering: TestApp;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let pulsar: FakePulsarAmqp;
  let store: DataStoreServer;
  let slug: string;

  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    // Receives the uploads (the sites' public URL leads there) and dispatches nothing.
    receiving = await startTestApp({ AMQP_URL: amqp.url, CONSTELLATION_DATA_DIR: dataDir() });
    await endLeftoverTasks(receiving);
    // Dispatches, so it delivers what the other replica received.
    delivering = await startDispatchApp({
      AMQP_URL: amqp.url,
      CONSTELLATION_DATA_DIR: dataDir(),
      CONSTELLATION_PUBLIC_URL: receiving.url,
    });
    admin = await createPrincipal(receiving, 'admin');
    alice = await createPrincipal(receiving, 'submitter');
    pulsar = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    store = await startDataStore({}, { requireLength: true });
    ({ slug } = await registerSiteUp(
      receiving,
      admin,
      admin,
      onHostPulsarSiteDocument({ kind: 'pulsar-amqp', url: null, pulsar_manager: pulsar.manager }),
    ));
  });
  afterAll(async () => {
    await delivering?.close();
    await receiving?.close();
    await pulsar?.close();
    await store?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('an AMQP site uploads to one replica and the other delivers', async () => {
    const { body } = await tes(receiving.url, alice)
      .create({
        outputs: [{ path: '/out/r.txt', url: `${store.url}/results/replicas.txt`, type: 'FILE' }],
        executors: [{ image: 'alpine', command: ['sh', '-c', 'echo from one replica > /out/r.txt'] }],
        resources: { zones: [slug] },
      })
      .expect(200);
    const jobId = `${body.id}-1`;
    const task = await waitFor('the task to finish', async () => {
      const res = await tes(delivering.url, alice).get(body.id, 'FULL');
      return FINAL_STATES.includes(res.body.state) ? res.body : undefined;
    });
    expect(task.state).toBe('COMPLETE');
    expect(store.received.get('/results/replicas.txt')).toBe('from one replica\n');
    expect(store.puts).toEqual([{ path: '/results/replicas.txt', status: 201, length: '17' }]);
    // Every upload went to the receiving replica, which runs no dispatch: the other one delivered.
    const posts = pulsar.posts().filter((p) => p.url.includes(jobId));
    expect(posts.length).toBeGreaterThan(0);
    expect(
      posts.every((p) => p.status === 200 && p.url.startsWith(`${receiving.url}/api/v1/job-files/`)),
    ).toBe(true);
    const files = () =>
      receiving.app
        .get(DataSource)
        .query('SELECT count(*)::int AS n FROM job_file WHERE job_id = $1', [jobId]) as Promise<
        { n: number }[]
      >;
    await waitFor('the job files removed', async () => ((await files())[0].n === 0 ? true : undefined));
  });
});

/**
 * A data store that serves `input` by GET and takes its time with the first PUT (one read every 100 ms), so a
 * replica can be killed while bytes flow; later PUTs are read at once. Records how many PUTs were in flight at
 * most.
 */
async function slowDestination(input: string) {
  const puts: { status: 'open' | 'aborted' | 'stored'; bytes: number }[] = [];
  let open = 0;
  let maxOpen = 0;
  let stored = '';
  const server: Server = createServer((req: IncomingMessage, res) => {
    // HEAD too: placement asks an http(s) input's size before it places the task.
    if (req.method === 'GET' || req.method === 'HEAD') {
      res
        .writeHead(200, { 'content-length': String(input.length) })
        .end(req.method === 'GET' ? input : undefined);
      return;
    }
    const put = { status: 'open' as 'open' | 'aborted' | 'stored', bytes: 0 };
    puts.push(put);
    open++;
    maxOpen = Math.max(maxOpen, open);
    const chunks: Buffer[] = [];
    const slow = puts.length === 1;
    req.on('data', (c: Buffer) => {
      put.bytes += c.length;
      chunks.push(c);
      if (slow) {
        req.pause();
        setTimeout(() => req.resume(), 100);
      }
    });
    req.on('end', () => {
      put.status = 'stored';
      stored = Buffer.concat(chunks).toString('utf8');
      res.writeHead(201).end();
    });
    req.on('close', () => {
      open--;
      if (put.status === 'open') put.status = 'aborted';
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    maxOpen: () => maxOpen,
    stored: () => stored,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Far more than loopback socket buffers hold, so a replica killed mid-PUT cannot have sent it all. */
const SIZE = 16 * 1024 * 1024;

describe('kill -9 of a replica during delivery', () => {
  let survivor: TestApp;
  let doomed: BrokerProcess | undefined;
  let admin: TestPrincipal;
  let alice: TestPrincipal;
  let pulsar: FakePulsarSite;
  let destination: Awaited<ReturnType<typeof slowDestination>>;
  const dirs: string[] = [];

  beforeAll(async () => {
    // Dispatch off: this replica only serves the API until the other one is killed, then its rounds are driven.
    survivor = await startTestApp({ CONSTELLATION_LEASE_SECONDS: '3', CONSTELLATION_PROBE_SECONDS: '1' });
    await endLeftoverTasks(survivor);
    admin = await createPrincipal(survivor, 'admin');
    alice = await createPrincipal(survivor, 'submitter');
    pulsar = await startFakePulsarSite({ token: 'kill-token' });
    destination = await slowDestination('x'.repeat(SIZE));
  });
  afterAll(async () => {
    if (doomed && doomed.child.exitCode === null) doomed.child.kill('SIGKILL');
    await survivor?.close();
    await pulsar?.close();
    await destination?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing, never delivers twice at once, and never runs the job twice', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'doomed-replica-'));
    dirs.push(dir);
    doomed = spawnBroker({
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CONSTELLATION_DATA_DIR: dir,
      CONSTELLATION_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      CONSTELLATION_DISPATCH_SECONDS: '0.05',
      CONSTELLATION_TRACK_SECONDS: '0.05',
      CONSTELLATION_PROBE_SECONDS: '1',
      CONSTELLATION_LEASE_SECONDS: '3',
    });
    await waitForOk(`http://127.0.0.1:${port}/ga4gh/tes/v1/service-info`, 90_000, doomed);
    const { slug } = await registerSiteUp(
      survivor,
      admin,
      admin,
      pulsarRestSiteDocument(pulsar.url, 'kill-token'),
    );
    const size = SIZE;
    const { body } = await tes(survivor.url, alice)
      .create({
        outputs: [{ path: '/out/big', url: `${destination.url}/results/big`, type: 'FILE' }],
        inputs: [{ url: `${destination.url}/data/big`, path: '/in/big', type: 'FILE' }],
        executors: [{ image: 'alpine', command: ['cat', '/in/big'], stdout: '/out/big' }],
        resources: { zones: [slug] },
      })
      .expect(200);

    // The doomed replica places, submits, tracks and starts delivering: kill it while bytes flow.
    await waitFor('the first PUT receiving bytes', async () =>
      destination.puts[0]?.bytes > 0 ? true : undefined,
    ).catch(async (err: Error) => {
      const state = (await tes(survivor.url, alice).get(body.id, 'FULL')).body;
      throw new Error(`${err.message}; task: ${JSON.stringify(state)}; replica said: ${doomed?.output()}`);
    });
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await waitFor('the killed replica’s PUT to end', async () =>
      destination.puts[0].status !== 'open' ? true : undefined,
    );

    const loop = survivor.app.get(DispatchLoop);
    const task = await waitFor('the survivor to finish the delivery', async () => {
      await loop.tick();
      const res = await tes(survivor.url, alice).get(body.id, 'FULL');
      return FINAL_STATES.includes(res.body.state) ? res.body : undefined;
    });
    expect(task.state).toBe('COMPLETE');
    expect(task.logs).toHaveLength(1);
    expect(task.logs[0].outputs).toEqual([
      { url: `${destination.url}/results/big`, path: '/out/big', size_bytes: String(size) },
    ]);
    expect(destination.puts.map((p) => p.status)).toEqual(['aborted', 'stored']);
    expect(destination.stored()).toBe('x'.repeat(size));
    expect(destination.maxOpen()).toBe(1);
    const submits = pulsar
      .requests()
      .filter(
        (r) => r.method === 'POST' && r.path.startsWith(`/jobs/${body.id}-`) && r.path.endsWith('/submit'),
      );
    expect(submits).toHaveLength(1);
    await waitFor('the cleanup after delivery', async () =>
      pulsar.requests().find((r) => r.method === 'DELETE' && r.path === `/jobs/${body.id}-1`),
    );
  });
});
