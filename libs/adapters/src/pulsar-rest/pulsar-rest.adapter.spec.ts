import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TaskDocument, TesExecutor, TesState } from '@constellation/tes';
import { Agent } from 'undici';
import { startFakePulsarSite, type FakePulsarSite, type FakePulsarSiteOptions } from '@constellation/testing';
import { AdapterError, type AdapterSite, type RemoteStatus, type SiteRuntime } from '../site-adapter';
import { prepareJob, RECORDS_LOG } from '../pulsar/job-plan';
import { parseRecords } from '../pulsar/job-records';
import { containerName, cvmfsImagePath, jobScript } from '../pulsar/job-script';
import { deliver, DeliveryFailure } from './output-delivery';
import { targetOf } from '../pulsar/output-targets';
import { PulsarRestSiteAdapter, type PulsarRestSiteAdapterOptions } from './pulsar-rest.adapter';
import { quote, quoteGlob } from '../pulsar/shell-quote';
import { exec, newTaskId, pulsarRestSite, rejection, task } from '../testing/adapter-fixtures';

// The real adapter against the fake Pulsar over loopback; destinations and input stores are real HTTP servers.

// Some tests wait out cancel retries and a watchdog's poll; none takes this long when it passes.
jest.setTimeout(30_000);

const TOKEN = 'pulsar-secret-token-42';
const agent = new Agent({ keepAliveTimeout: 1_000 });
const started: Array<{ close(): Promise<void> }> = [];
const temps: string[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(() => agent.close());

async function fakePulsar(options: FakePulsarSiteOptions = {}): Promise<FakePulsarSite> {
  const fake = await startFakePulsarSite({ token: TOKEN, ...options });
  started.push(fake);
  return fake;
}

function adapter(options: PulsarRestSiteAdapterOptions = {}): PulsarRestSiteAdapter {
  return new PulsarRestSiteAdapter({ dispatcher: agent, timeoutMs: 2_000, ...options });
}

function siteOf(fake: FakePulsarSite, extra: Partial<AdapterSite> = {}): AdapterSite {
  return pulsarRestSite(fake.url, TOKEN, extra);
}

/** A Pulsar job's directories under `base`, the inputs, working and outputs ones made as Pulsar makes them. */
function jobDirs(base: string) {
  const dirs = {
    jobId: 'j-1',
    inputs: join(base, 'job/inputs'),
    working: join(base, 'job/working'),
    outputs: join(base, 'job/outputs'),
    metadata: join(base, 'job/metadata'),
    tools: join(base, 'job/tool_files'),
  };
  for (const d of [dirs.inputs, dirs.working, dirs.outputs]) mkdirSync(d, { recursive: true });
  return dirs;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pulsar-adapter-'));
  temps.push(dir);
  return dir;
}

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A real HTTP server that records what it receives and answers `status` (an input store or an output sink). */
async function sink(status = 201, serve?: Record<string, string>) {
  const received: Received[] = [];
  let answer = status;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const content = serve?.[req.url ?? ''];
      if (req.method === 'GET' && content !== undefined) {
        res.writeHead(200).end(content);
      } else {
        res.writeHead(req.method === 'GET' ? 404 : answer).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const handle = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    respond(s: number) {
      answer = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  started.push(handle);
  return handle;
}

async function statusOf(
  pulsar: PulsarRestSiteAdapter,
  site: AdapterSite,
  ref: string,
): Promise<RemoteStatus> {
  const outcome = (await pulsar.status(site, [ref])).get(ref);
  if (!outcome || outcome instanceof AdapterError)
    throw new Error(`no status for ${ref}: ${String(outcome)}`);
  return outcome;
}

const FINAL: readonly TesState[] = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

/**
 * Polls until the job reaches a final state, then delivers its outputs as the dispatch delivery step would;
 * fails naming the state it was stuck in.
 */
async function waitForFinal(
  pulsar: PulsarRestSiteAdapter,
  site: AdapterSite,
  ref: string,
): Promise<RemoteStatus> {
  const deadline = Date.now() + 5_000;
  let last: RemoteStatus | undefined;
  while (Date.now() < deadline) {
    last = await statusOf(pulsar, site, ref);
    if (last.awaitingDelivery) return pulsar.deliver(site, ref);
    if (FINAL.includes(last.state)) return last;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${ref} did not finish in 5 s (last: ${last?.state})`);
}

async function run(
  pulsar: PulsarRestSiteAdapter,
  site: AdapterSite,
  doc: TaskDocument,
): Promise<{ ref: string; status: RemoteStatus }> {
  const ref = await pulsar.submit(site, { taskId: newTaskId(), attempt: 1, tes: doc });
  return { ref, status: await waitForFinal(pulsar, site, ref) };
}

describe('PulsarRestSiteAdapter', () => {
  describe('submission on the wire', () => {
    it('sets up, uploads content inputs, the plan and the script, submits with remote staging, then marks it', async () => {
      const fake = await fakePulsar();
      const store = await sink(200, { '/data/reads.fq': '@r1\nACGT\n' });
      const pulsar = adapter();
      const taskId = newTaskId();
      const ref = await pulsar.submit(siteOf(fake), {
        taskId,
        attempt: 2,
        tes: task([exec(['cat', '/in/a.txt', '/in/reads.fq'], { stdout: '/out/all.txt' })], {
          inputs: [
            { path: '/in/a.txt', type: 'FILE', content: 'hello\n' },
            { path: '/in/reads.fq', type: 'FILE', url: `${store.url}/data/reads.fq` },
          ],
          outputs: [{ path: '/out/all.txt', type: 'FILE', url: `${store.url}/up/all.txt` }],
        }),
      });
      expect(ref).toBe(`${taskId}-2`);
      const wire = fake.requests();
      expect(wire.map((r) => `${r.method} ${r.path} ${r.query.type ?? ''}`.trim())).toEqual([
        `GET /jobs/${ref}/status`,
        'POST /jobs',
        `POST /jobs/${ref}/files input`,
        `POST /jobs/${ref}/files metadata`,
        `POST /jobs/${ref}/files tool`,
        `POST /jobs/${ref}/submit`,
        `POST /jobs/${ref}/files metadata`,
      ]);
      for (const r of wire) expect(r.query.private_token).toBe(TOKEN);
      expect(wire[1].query.job_id).toBe(ref);
      expect(wire[2]).toMatchObject({ query: { name: 'input_0' }, bodyBytes: 6, contentLength: '6' });
      expect(fake.file(ref, 'inputs', 'input_0')?.toString()).toBe('hello\n');
      const scriptPath = `${fake.stagingRoot}/${ref}/tool_files/constellation-job.sh`;
      expect(wire[5].query.command_line).toBe(`bash '${scriptPath}'`);
      expect(JSON.parse(wire[5].query.remote_staging)).toEqual({
        setup: [
          {
            name: 'input_1',
            type: 'input',
            action: {
              action_type: 'remote_transfer',
              url: `${store.url}/data/reads.fq`,
              source: { path: '/in/reads.fq' },
              path: '/in/reads.fq',
            },
          },
        ],
      });
      const script = fake.file(ref, 'tool_files', 'constellation-job.sh')?.toString() ?? '';
      expect(script.startsWith('#!/bin/bash\n')).toBe(true);
      expect(script).toContain(`I='${fake.stagingRoot}/${ref}/inputs'`);

      const status = await waitForFinal(pulsar, siteOf(fake), ref);
      // Pulsar itself fetched the http input; the broker never touched it.
      expect(store.received.filter((r) => r.method === 'GET').map((r) => r.url)).toEqual(['/data/reads.fq']);
      expect(status.state).toBe('COMPLETE');
      expect(store.received.find((r) => r.method === 'PUT')?.body.toString()).toBe('hello\n@r1\nACGT\n');
    });

    it('routes everything under /managers/{name} when the site names a manager', async () => {
      const fake = await fakePulsar({ managers: ['constellation'] });
      const pulsar = adapter();
      const site = siteOf(fake, { pulsarManager: 'constellation' });
      const { status } = await run(pulsar, site, task([exec(['true'])]));
      expect(status.state).toBe('COMPLETE');
      expect((await pulsar.probe(site)).ok).toBe(true);
      const paths = fake.requests().map((r) => r.path);
      expect(paths.length).toBeGreaterThan(5);
      for (const p of paths) expect(p.startsWith('/managers/constellation/')).toBe(true);

      const unknown = siteOf(fake, { pulsarManager: 'nobody' });
      const err = await rejection(pulsar.find(unknown, newTaskId(), 1));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toBe('GET /jobs/' + err.message.split('/jobs/')[1]);
      expect(err.message).toMatch(/HTTP 500$/);
    });

    it('does not set a job up twice when resent, and finishes a job that was set up but never submitted', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const job = { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) };
      const ref = await pulsar.submit(site, job);
      expect(await pulsar.submit(site, job)).toBe(ref);
      expect(await pulsar.find(site, job.taskId, 1)).toBe(ref);
      expect(await pulsar.find(site, job.taskId, 2)).toBeNull();
      expect(fake.requests().filter((r) => r.path === '/jobs')).toHaveLength(1);
      expect(fake.job(ref)?.submits).toBe(1);

      // The broker dies between setup and submit: Pulsar keeps the job in preprocessing forever.
      const half = { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) };
      fake.failNext(500, 1, { path: '/submit' });
      expect((await rejection(pulsar.submit(site, half))).kind).toBe('unreachable');
      const halfRef = `${half.taskId}-1`;
      expect(fake.job(halfRef)?.status).toBe('preprocessing');
      expect(await pulsar.submit(site, half)).toBe(halfRef);
      expect(fake.job(halfRef)?.submits).toBe(1);
      expect((await waitForFinal(pulsar, site, halfRef)).state).toBe('COMPLETE');
    });

    it('sets a first send up without asking for its status, and asks before any other send', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const job = { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) };
      const ref = await pulsar.submit(site, { ...job, firstSend: true });
      const calls = () => fake.requests().map((r) => `${r.method} ${r.path}`);
      expect(calls()[0]).toBe('POST /jobs');
      expect(calls()).not.toContain(`GET /jobs/${ref}/status`);
      const before = fake.requests().length;
      expect(await pulsar.submit(site, job)).toBe(ref);
      expect(calls().slice(before)[0]).toBe(`GET /jobs/${ref}/status`);
      expect(calls().slice(before)).not.toContain('POST /jobs');
      expect(fake.job(ref)?.submits).toBe(1);
    });

    it('refuses a site that sets assign_ids: uuid, and removes the job it made', async () => {
      const fake = await fakePulsar({ assignIds: 'uuid' });
      const err = await rejection(
        adapter().submit(siteOf(fake), { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) }),
      );
      expect(err.kind).toBe('rejected');
      expect(err.message).toMatch(/must not set assign_ids: uuid/);
      expect(fake.requests().at(-1)?.method).toBe('DELETE');
      expect(fake.requests().some((r) => r.path.endsWith('/submit'))).toBe(false);
    });

    it.each([
      {
        name: 'an ftp input',
        doc: task([exec(['true'])], { inputs: [{ path: '/in/x', type: 'FILE', url: 'ftp://host/x' }] }),
        reason: /fetch only http\(s\) URLs, not ftp/,
      },
      {
        name: 'an s3 input',
        doc: task([exec(['true'])], { inputs: [{ path: '/in/x', type: 'FILE', url: 's3://bucket/x' }] }),
        reason: /not s3 URLs/,
      },
      {
        name: 'a directory input',
        doc: task([exec(['true'])], { inputs: [{ path: '/in', type: 'DIRECTORY', url: 'https://h/in/' }] }),
        reason: /directory inputs are not supported/,
      },
      {
        name: 'a file:// output without file roots',
        doc: task([exec(['true'])], { outputs: [{ path: '/o/x', type: 'FILE', url: 'file:///tmp/x' }] }),
        reason: /accepts no file:\/\/ outputs/,
      },
      {
        name: 'a directory output to a Galaxy job-files URL',
        doc: task([exec(['true'])], {
          outputs: [
            { path: '/o', type: 'DIRECTORY', url: 'https://g.org/api/jobs/1/files?job_key=k&path=/x' },
          ],
        }),
        reason: /Galaxy job-files URL takes one file/,
      },
      {
        name: 'an output at the container root',
        doc: task([exec(['true'])], { outputs: [{ path: '/x.txt', type: 'FILE', url: 'https://h/x' }] }),
        reason: /root directory mounted/,
      },
      {
        name: 'a path a bind mount cannot express',
        doc: task([exec(['true'], { workdir: '/a:b' })]),
        reason: /contains ':' or ','/,
      },
      {
        name: 'an environment variable that is not a name',
        doc: task([exec(['true'], { env: { 'A;rm': 'x' } })]),
        reason: /is not a variable name/,
      },
    ])('rejects $name before calling the site', async ({ doc, reason }) => {
      const fake = await fakePulsar();
      const err = await rejection(
        adapter().submit(siteOf(fake), { taskId: newTaskId(), attempt: 1, tes: doc }),
      );
      expect(err.kind).toBe('rejected');
      expect(err.message).toMatch(reason);
      expect(fake.requests()).toEqual([]);
    });

    it('rejects a site that lists no runtime', async () => {
      const fake = await fakePulsar();
      const err = await rejection(
        adapter().submit(siteOf(fake, { runtimes: [] }), {
          taskId: newTaskId(),
          attempt: 1,
          tes: task([exec(['true'])]),
        }),
      );
      expect(err).toMatchObject({ kind: 'rejected', message: 'the site lists no container runtime' });
    });

    it("refuses a site whose only runtime is 'none' unless it declares run_images_on_host", async () => {
      const fake = await fakePulsar();
      const job = () => ({ taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) });
      const err = await rejection(adapter().submit(siteOf(fake, { runtimes: ['none'] }), job()));
      expect(err.kind).toBe('rejected');
      expect(err.message).toMatch(/does not declare run_images_on_host/);
      expect(fake.requests()).toEqual([]);
      // With a container runtime listed first, an undeclared `none` is dropped rather than used as a fallback.
      expect(prepareJob(job(), { runtimes: ['docker', 'none'] }, []).plan.runtimes).toEqual(['docker']);
      expect(prepareJob(job(), { runtimes: ['none'], runImagesOnHost: true }, []).plan.runtimes).toEqual([
        'none',
      ]);
    });

    it('announces the schemes it can move', async () => {
      const fake = await fakePulsar();
      expect(await adapter().schemes(siteOf(fake))).toEqual({
        inputs: ['http', 'https'],
        outputs: ['http', 'https'],
      });
      expect(await adapter({ fileRoots: ['/srv/results'] }).schemes(siteOf(fake))).toEqual({
        inputs: ['http', 'https'],
        outputs: ['file', 'http', 'https'],
      });
    });
  });

  describe('status', () => {
    it.each([
      { pulsar: 'preprocessing', want: 'INITIALIZING' },
      { pulsar: 'queued', want: 'INITIALIZING' },
      { pulsar: 'running', want: 'RUNNING' },
      { pulsar: 'postprocessing', want: 'RUNNING' },
      { pulsar: 'cancelled', want: 'CANCELED', complete: 'true' },
      { pulsar: 'failed', want: 'SYSTEM_ERROR', complete: 'true' },
    ])('maps Pulsar status $pulsar to $want', async ({ pulsar: pulsarStatus, want, complete }) => {
      const fake = await fakePulsar();
      const body = JSON.stringify({
        job_id: 'j-1',
        complete: complete ?? 'false',
        status: pulsarStatus,
        returncode: null,
      });
      fake.failNext(200, 1, { path: '/status', body });
      const status = await statusOf(adapter(), siteOf(fake), 'j-1');
      expect(status.state).toBe(want);
      if (pulsarStatus === 'failed') expect(status.systemLogs[0]).toMatch(/staging its files/);
    });

    it('reports lost (HTTP 200, status "lost") as a per-ref AdapterError, and finds nothing', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const { ref } = await run(pulsar, site, task([exec(['true'])]));
      fake.forget(ref);
      const outcome = (await pulsar.status(site, [ref, 'never-was-1'])).get(ref);
      expect(outcome).toBeInstanceOf(AdapterError);
      expect((outcome as AdapterError).kind).toBe('lost');
      expect(await pulsar.find(site, ref.slice(0, -2), 1)).toBeNull();
    });

    it('rejects an answer that is not Pulsar JSON as a protocol error', async () => {
      const fake = await fakePulsar();
      fake.failNext(200, 1, { path: '/status', body: '<html>proxy login</html>' });
      const outcome = (await adapter().status(siteOf(fake), ['j-1'])).get('j-1') as AdapterError;
      expect(outcome.kind).toBe('protocol_error');
      fake.failNext(200, 1, {
        path: '/status',
        body: '{"job_id":"j-1","complete":true,"status":"exploded"}',
      });
      expect(((await adapter().status(siteOf(fake), ['j-1'])).get('j-1') as AdapterError).message).toMatch(
        /not a Pulsar job status/,
      );
    });

    it('records every executor that ran, continues past ignore_error and stops at the first real failure', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const { status } = await run(
        pulsar,
        site,
        task([
          exec(['echo', 'one']),
          exec(['sh', '-c', 'exit 3'], { ignore_error: true }),
          exec(['cat', '/nope']),
          exec(['echo', 'never']),
        ]),
      );
      expect(status.state).toBe('EXECUTOR_ERROR');
      expect(status.executorLogs.map((l) => l.exit_code)).toEqual([0, 3, 1]);
      expect(status.executorLogs[0]).toMatchObject({ stdout: 'one\n', stderr: '' });
      expect(status.executorLogs[2].stderr).toBe('cat: /nope: No such file or directory\n');
      expect(status.executorLogs[0].start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(status.systemLogs).toEqual(['executor 2 exited with code 1']);
      expect(status.startTime).toBeDefined();

      const ok = await run(pulsar, site, task([exec(['false'], { ignore_error: true }), exec(['true'])]));
      expect(ok.status.state).toBe('COMPLETE');
      expect(ok.status.executorLogs.map((l) => l.exit_code)).toEqual([1, 0]);
    });

    it('reports a job whose inputs could not be staged as SYSTEM_ERROR', async () => {
      const fake = await fakePulsar();
      const store = await sink(200, {});
      const { status } = await run(
        adapter(),
        siteOf(fake),
        task([exec(['true'])], { inputs: [{ path: '/in/x', type: 'FILE', url: `${store.url}/missing` }] }),
      );
      expect(status.state).toBe('SYSTEM_ERROR');
      expect(status.systemLogs[0]).toMatch(/staging/);
    });

    it('fails the whole call when the site is down or refuses the token, without showing the token', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const { ref } = await run(pulsar, site, task([exec(['true'])]));

      const wrong = siteOf(fake, { id: 'site-2', credentials: { token: 'wrong-token-666' } });
      const auth = await rejection(pulsar.status(wrong, [ref]));
      expect(auth.kind).toBe('auth_failed');
      const probe = await pulsar.probe(wrong);
      expect(probe).toEqual({
        ok: false,
        latencyMs: null,
        error: expect.stringMatching(/^auth_failed: GET \/healthz/),
      });
      const submit = await rejection(
        pulsar.submit(wrong, { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) }),
      );
      expect(submit.kind).toBe('auth_failed');

      await fake.down();
      const down = await rejection(pulsar.status(site, [ref, 'other-1']));
      expect(down.kind).toBe('unreachable');
      const downProbe = await pulsar.probe(site);
      expect(downProbe).toEqual({
        ok: false,
        latencyMs: null,
        error: 'unreachable: GET /healthz: connection refused',
      });
      for (const message of [auth.message, probe.error, submit.message, down.message, downProbe.error]) {
        expect(message).not.toContain('wrong-token-666');
        expect(message).not.toContain(TOKEN);
        expect(message).not.toContain('private_token');
      }
      await fake.up();
      expect((await pulsar.probe(site)).ok).toBe(true);
    });

    it('maps 5xx and dropped connections to unreachable, per ref', async () => {
      const fake = await fakePulsar();
      const pulsar = adapter();
      const site = siteOf(fake);
      const { ref } = await run(pulsar, site, task([exec(['true'])]));
      fake.failNext(502, 1, { path: '/jobs/a-1/status' });
      fake.failNext(0, 1, { path: '/jobs/b-1/status', drop: true });
      const round = await pulsar.status(site, [ref, 'a-1', 'b-1']);
      expect((round.get(ref) as RemoteStatus).state).toBe('COMPLETE');
      expect(round.get('a-1')).toMatchObject({
        kind: 'unreachable',
        message: 'GET /jobs/a-1/status: HTTP 502',
      });
      expect(round.get('b-1')).toMatchObject({
        kind: 'unreachable',
        message: 'GET /jobs/b-1/status: connection closed by the site',
      });
      fake.failNext(503, 1, { path: '/status' });
      expect(await rejection(pulsar.status(site, [ref]))).toMatchObject({
        kind: 'unreachable',
        message: 'the site answered none of our status requests (GET /jobs/' + ref + '/status: HTTP 503)',
      });
    });

    it('probes /healthz for the version and latency', async () => {
      const fake = await fakePulsar({ version: '0.15.16' });
      expect(await adapter().probe(siteOf(fake))).toEqual({
        ok: true,
        latencyMs: expect.any(Number),
        version: '0.15.16',
      });
    });
  });

  describe('outputs', () => {
    it('PUTs a file output to its http URL once, streamed, and reports its size', async () => {
      const fake = await fakePulsar();
      const dest = await sink(201);
      const pulsar = adapter();
      const site = siteOf(fake);
      const url = `${dest.url}/results/out.txt?sig=abc`;
      const { ref, status } = await run(
        pulsar,
        site,
        task([exec(['echo', 'hello world'], { stdout: '/out/greeting.txt' })], {
          outputs: [{ path: '/out/greeting.txt', type: 'FILE', url }],
        }),
      );
      expect(status.state).toBe('COMPLETE');
      expect(status.outputs).toEqual([{ url, path: '/out/greeting.txt', size_bytes: '12' }]);
      expect(dest.received).toHaveLength(1);
      expect(dest.received[0]).toMatchObject({ method: 'PUT', url: '/results/out.txt?sig=abc' });
      expect(dest.received[0].headers['content-length']).toBe('12');
      expect(dest.received[0].body.toString()).toBe('hello world\n');
      // Status checks only read: a later one reports the outputs as awaiting delivery, and uploads nothing.
      expect(await statusOf(pulsar, site, ref)).toMatchObject({ state: 'COMPLETE', awaitingDelivery: true });
      expect(dest.received).toHaveLength(1);
    });

    it('POSTs to a Galaxy job-files URL as multipart/form-data with the field "file"', async () => {
      const fake = await fakePulsar();
      const galaxy = await sink(200);
      const url = `${galaxy.url}/api/jobs/f2db41e1fa331b3e/files?job_key=K3Y&path=/galaxy/files/dataset_1.dat`;
      const { status } = await run(
        adapter(),
        siteOf(fake),
        task([exec(['echo', 'galaxy data'], { stdout: '/out/d.dat' })], {
          outputs: [{ path: '/out/d.dat', type: 'FILE', url }],
        }),
      );
      expect(status.state).toBe('COMPLETE');
      const post = galaxy.received[0];
      expect(post.method).toBe('POST');
      expect(post.url).toBe('/api/jobs/f2db41e1fa331b3e/files?job_key=K3Y&path=/galaxy/files/dataset_1.dat');
      const type = String(post.headers['content-type']);
      expect(type).toMatch(/^multipart\/form-data; boundary=/);
      expect(Number(post.headers['content-length'])).toBe(post.body.length);
      const form = await new Response(new Uint8Array(post.body), {
        headers: { 'content-type': type },
      }).formData();
      const file = form.get('file') as File;
      expect(await file.text()).toBe('galaxy data\n');
      expect(file.name).toBe('d.dat');
    });

    it('writes file:// outputs under a file root, with directory and wildcard outputs, and refuses others', async () => {
      const fake = await fakePulsar();
      const root = tempDir();
      const pulsar = adapter({ fileRoots: [root] });
      const site = siteOf(fake);
      const { status } = await run(
        pulsar,
        site,
        task(
          [
            exec([
              'sh',
              '-c',
              'echo a > /work/res/a.txt; echo b > /work/res/sub/b.txt; echo 1 > /work/run_1.log',
            ]),
            exec(['sh', '-c', 'echo 2 > /work/run_2.log; echo x > /work/other.txt']),
          ],
          {
            outputs: [
              { path: '/work/res/a.txt', type: 'FILE', url: `file://${root}/single/a.txt` },
              { path: '/work/res', type: 'DIRECTORY', url: `file://${root}/tree` },
              { path: '/work/run_*.log', path_prefix: '/work/', type: 'FILE', url: `file://${root}/logs/` },
            ],
            volumes: ['/work'],
          },
        ),
      );
      expect(status.state).toBe('COMPLETE');
      expect(readFileSync(join(root, 'single/a.txt'), 'utf8')).toBe('a\n');
      expect(readFileSync(join(root, 'tree/a.txt'), 'utf8')).toBe('a\n');
      expect(readFileSync(join(root, 'tree/sub/b.txt'), 'utf8')).toBe('b\n');
      expect(readFileSync(join(root, 'logs/run_1.log'), 'utf8')).toBe('1\n');
      expect(readFileSync(join(root, 'logs/run_2.log'), 'utf8')).toBe('2\n');
      expect(existsSync(join(root, 'logs/other.txt'))).toBe(false);
      expect(status.outputs.map((o) => `${o.path} ${o.size_bytes}`)).toEqual([
        '/work/res/a.txt 2',
        '/work/res/a.txt 2',
        '/work/res/sub/b.txt 2',
        '/work/run_1.log 2',
        '/work/run_2.log 2',
      ]);

      const outside = await rejection(
        pulsar.submit(site, {
          taskId: newTaskId(),
          attempt: 1,
          tes: task([exec(['true'])], { outputs: [{ path: '/o/x', type: 'FILE', url: 'file:///etc/x' }] }),
        }),
      );
      expect(outside).toMatchObject({
        kind: 'rejected',
        message: expect.stringMatching(/outside the broker's file roots/),
      });
      // Delivery checks again: roots may change between submission and completion.
      expect(targetOf(new URL(`file://${root}/../escape`), [root])).toMatch(
        /outside the configured file roots/,
      );
      expect(targetOf(new URL('file:///tmp/x'), [])).toMatch(/no file roots configured/);
    });

    it('does not follow a symbolic link out of a file root', async () => {
      const root = tempDir();
      const elsewhere = tempDir();
      execFileSync('ln', ['-s', elsewhere, join(root, 'link')]);
      const target = targetOf(new URL(`file://${root}/link/x.txt`), [root]);
      if (typeof target === 'string') throw new Error(target);
      const source = { body: Readable.from([Buffer.from('x')]), length: 1 };
      await expect(
        deliver(source, target, 'x.txt', { transferTimeoutMs: 1_000, stallMs: 1_000 }),
      ).rejects.toThrow(DeliveryFailure);
      expect(existsSync(join(elsewhere, 'x.txt'))).toBe(false);
    });

    it('fails the task naming an output that was not produced; a refusing destination is undeliverable', async () => {
      const fake = await fakePulsar();
      const dest = await sink(403);
      const pulsar = adapter();
      const site = siteOf(fake);
      const missing = await run(
        pulsar,
        site,
        task([exec(['true'])], {
          outputs: [{ path: '/out/result.bam', type: 'FILE', url: `${dest.url}/r.bam` }],
        }),
      );
      expect(missing.status.state).toBe('SYSTEM_ERROR');
      expect(missing.status.systemLogs).toEqual(['output /out/result.bam was not produced']);

      const refused = await rejection(
        run(
          pulsar,
          site,
          task([exec(['echo', 'x'], { stdout: '/out/x.txt' })], {
            outputs: [{ path: '/out/x.txt', type: 'FILE', url: `${dest.url}/x.txt?token=SECRET` }],
          }),
        ),
      );
      expect(refused.kind).toBe('undeliverable');
      expect(refused.message).toBe(
        `the broker could not deliver output /out/x.txt to ${dest.url}/x.txt: PUT answered HTTP 403`,
      );
    });

    it('maps a 500 for a file the site never made to a clear per-output error', async () => {
      // A simulator that forgets its own record of a missing output: only Pulsar's 500 tells.
      const fake = await fakePulsar({
        simulate: (job, ctx) => {
          ctx.put(
            'outputs',
            RECORDS_LOG,
            `begin\t2025-01-01T00:00:00Z\t1\nexec\t0\t0\t2025-01-01T00:00:00Z\t2025-01-01T00:00:01Z\nend\t2025-01-01T00:00:01Z\n`,
          );
          return 0;
        },
      });
      const dest = await sink(201);
      const { status } = await run(
        adapter(),
        siteOf(fake),
        task([exec(['true'])], { outputs: [{ path: '/out/y', type: 'FILE', url: `${dest.url}/y` }] }),
      );
      expect(status).toMatchObject({
        state: 'SYSTEM_ERROR',
        systemLogs: ['output /out/y was not produced (the site has no such file)'],
        executorLogs: [
          { exit_code: 0, start_time: '2025-01-01T00:00:00Z', end_time: '2025-01-01T00:00:01Z' },
        ],
      });
      expect(dest.received).toEqual([]);
    });

    it('fails the task naming an output the site lists but keeps failing to serve, after 3 tries', async () => {
      const fake = await fakePulsar();
      const dest = await sink(201);
      const pulsar = adapter();
      const site = siteOf(fake);
      const ref = await pulsar.submit(site, {
        taskId: newTaskId(),
        attempt: 1,
        tes: task([exec(['sh', '-c', 'echo hi > /out/y'])], {
          outputs: [{ path: '/out/y', type: 'FILE', url: `${dest.url}/y` }],
        }),
      });
      const deadline = Date.now() + 5_000;
      while (fake.job(ref)?.status !== 'complete' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // What Pulsar answers for a listed file it cannot open (a dangling symbolic link).
      fake.failNext(500, 100, { method: 'GET', path: `/jobs/${ref}/files`, query: { name: 'o0' } });
      expect(await statusOf(pulsar, site, ref)).toMatchObject({ awaitingDelivery: true });
      for (let i = 0; i < 2; i++) {
        const err = await rejection(pulsar.deliver(site, ref));
        expect(err.kind).toBe('unreachable');
        expect(err.message).toContain('downloading output /out/y: HTTP 500');
      }
      expect(await pulsar.deliver(site, ref)).toMatchObject({
        state: 'SYSTEM_ERROR',
        systemLogs: [
          'output /out/y: the site lists it but failed to serve it 3 times (HTTP 500; a dangling symbolic link?)',
        ],
      });
      expect(dest.received).toEqual([]);
    });
  });

  describe('cancel and cleanup', () => {
    it('keeps cancelling a job Pulsar is still staging, unreachable until the cancel takes', async () => {
      const fake = await fakePulsar();
      fake.holdStaging();
      const pulsar = adapter({ cancelWaitMs: 1_000 });
      const site = siteOf(fake);
      const ref = await pulsar.submit(site, {
        taskId: newTaskId(),
        attempt: 1,
        tes: task([exec(['sleep', '600'])]),
      });
      expect(fake.job(ref)?.status).toBe('preprocessing');
      const err = await rejection(pulsar.cancel(site, ref));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toBe('kill not yet effective: Pulsar is still staging inputs');
      const cancels = () => fake.requests().filter((r) => r.method === 'PUT' && r.path.endsWith('/cancel'));
      expect(cancels().length).toBeGreaterThan(1);
      // Pulsar launches the job after all: the retried cancel stops it.
      fake.releaseStaging();
      await pulsar.cancel(site, ref);
      expect(fake.job(ref)).toMatchObject({ status: 'cancelled', returncode: -9 });
    });

    it('cancels a running job, cleans it up, and treats a job the site lost as done', async () => {
      const fake = await fakePulsar();
      fake.hold();
      const pulsar = adapter();
      const site = siteOf(fake);
      const ref = await pulsar.submit(site, { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) });
      const deadline = Date.now() + 2_000;
      while ((await statusOf(pulsar, site, ref)).state !== 'RUNNING' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await pulsar.cancel(site, ref);
      expect(fake.job(ref)).toMatchObject({ status: 'cancelled', returncode: -9 });
      expect((await statusOf(pulsar, site, ref)).state).toBe('CANCELED');
      await pulsar.cleanup(site, ref);
      expect(fake.job(ref)).toBeUndefined();
      expect(
        fake
          .requests()
          .filter((r) => r.method !== 'GET')
          .slice(-2)
          .map((r) => `${r.method} ${r.path}`),
      ).toEqual([`PUT /jobs/${ref}/cancel`, `DELETE /jobs/${ref}`]);
      // Both answer 500 for a job Pulsar does not know; that job is as gone as we wanted.
      await pulsar.cancel(site, ref);
      await pulsar.cleanup(site, ref);
      fake.release();
    });
  });
});

describe('job script', () => {
  it.each([
    `'; touch /tmp/pwned; echo '`,
    '$(touch pwned)',
    '`touch pwned`',
    '"; exit 1; "',
    "it's\\n a \\'test\\'",
    'line one\nline two',
    '*',
    '$HOME ${PATH} $((1+1)) !!',
    '',
    'ünïcødé ✓',
  ])('quotes %j so bash reads it back unchanged', (hostile) => {
    expect(execFileSync('bash', ['-c', `printf '%s' ${quote(hostile)}`], { cwd: tempDir() }).toString()).toBe(
      hostile,
    );
  });

  it('names docker containers after the job; a watchdog removes them when the script is SIGKILLed', async () => {
    const base = tempDir();
    const bin = join(base, 'bin');
    mkdirSync(bin);
    const log = join(base, 'docker.log');
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/bash\necho "$*" >> ${quote(log)}\nif [ "$1" = run ]; then exec sleep 30; fi\n`,
      { mode: 0o755 },
    );
    const dirs = jobDirs(base);
    const prepared = prepareJob(
      { taskId: 't', attempt: 1, tes: task([exec(['true'])]) },
      { runtimes: ['docker'] },
      [],
    );
    const name = containerName(prepared.plan.job_id, 0);
    expect(name).toMatch(/^cst-[A-Za-z0-9_.-]+-0$/);
    const path = join(base, 'script.sh');
    writeFileSync(path, jobScript(prepared, dirs));
    const readLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    const until = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; docker log: ${readLog()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // Pulsar kills the script's whole process tree with SIGKILL: no trap runs.
    const child = spawn('bash', [path], {
      cwd: dirs.working,
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await until('docker run', () => readLog().includes('run '));
    expect(readLog()).toContain(`run --rm -i --name ${name} `);
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
    await until('the container removed', () => readLog().includes(`rm -f ${name}`));
  });

  it('runs registry images from the CVMFS image root when it holds them, else pulls docker:// into the cache', () => {
    const base = tempDir();
    const bin = join(base, 'bin');
    const cvmfs = join(base, 'cvmfs/all');
    mkdirSync(bin);
    mkdirSync(join(cvmfs, 'samtools:1.9--h8571acd_11'), { recursive: true });
    const log = join(base, 'singularity.log');
    // Records the image argument (the one after the last --bind value) and the cache variable it was given.
    writeFileSync(
      join(bin, 'singularity'),
      `#!/bin/bash\nshift; args=("$@"); i=0\nwhile [ "\${args[$i]}" != --bind ]; do i=$((i+1)); done\n` +
        `while [ "\${args[$i]}" = --bind ]; do i=$((i+2)); done\n` +
        `printf '%s %s\\n' "\${args[$i]}" "$SINGULARITY_CACHEDIR" >> ${quote(log)}\n`,
      { mode: 0o755 },
    );
    const dirs = jobDirs(base);
    const prepared = prepareJob(
      {
        taskId: 't',
        attempt: 1,
        tes: task(
          [
            exec(['true'], { image: 'quay.io/biocontainers/samtools:1.9--h8571acd_11' }),
            exec(['true'], { image: 'galaxy/pulsar-pod-staging:0.15.0.0' }),
          ],
          { volumes: ['/pulsar_staging/'] },
        ),
      },
      { runtimes: ['singularity'], imageCacheDir: '/srv/images', cvmfsImageRoot: `${cvmfs}/` },
      [],
    );
    expect(prepared.plan.images).toEqual({ cache_dir: '/srv/images', cvmfs_root: `${cvmfs}/` });
    const path = join(base, 'script.sh');
    writeFileSync(path, jobScript(prepared, dirs));
    execFileSync('bash', [path], {
      cwd: dirs.working,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    expect(readFileSync(log, 'utf8')).toBe(
      `${cvmfs}/samtools:1.9--h8571acd_11 /srv/images\n` +
        'docker://galaxy/pulsar-pod-staging:0.15.0.0 /srv/images\n',
    );
  });

  it.each([
    ['quay.io/biocontainers/samtools:1.9--h8571acd_11', '/cvmfs/all/samtools:1.9--h8571acd_11'],
    ['ubuntu', '/cvmfs/all/ubuntu:latest'],
    ['registry.example.org:5000/tools/bwa', '/cvmfs/all/bwa:latest'],
    ['quay.io/biocontainers/bwa@sha256:0123abcd', null],
  ])('finds %s in a CVMFS image root as %s', (image, want) => {
    expect(cvmfsImagePath('/cvmfs/all/', image)).toBe(want);
  });

  it('refuses NUL, and leaves only * and ? unquoted in globs', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
    expect(quoteGlob("/d/it's_*.t?t")).toBe(`'/d/it'\\''s_'*'.t'?'t'`);
  });

  it('runs executors in bash with the none runtime: records, streams, env, workdir, stdin, ignore_error, outputs', () => {
    const base = tempDir();
    const c = join(base, 'container');
    const dirs = jobDirs(base);
    const hostile = `$(touch ${base}/pwned)'; touch ${base}/pwned2; '`;
    const runScript = (executors: TesExecutor[], outputs: TaskDocument['outputs'] = []) => {
      rmSync(dirs.outputs, { recursive: true, force: true });
      mkdirSync(dirs.outputs);
      const prepared = prepareJob(
        {
          taskId: 't',
          attempt: 1,
          tes: task(executors, {
            inputs: [{ path: `${c}/in/data.txt`, type: 'FILE', content: 'ignored' }],
            outputs,
          }),
        },
        { runtimes: ['none' as SiteRuntime], runImagesOnHost: true },
        [],
      );
      writeFileSync(join(dirs.inputs, 'input_0'), 'from input\n');
      const path = join(dirs.working, '..', 'script.sh');
      writeFileSync(path, jobScript(prepared, dirs));
      let code = 0;
      try {
        execFileSync('bash', [path], { cwd: dirs.working, stdio: 'pipe' });
      } catch (err) {
        code = (err as { status: number }).status;
      }
      return { code, records: parseRecords(readFileSync(join(dirs.outputs, RECORDS_LOG), 'utf8'), 'test') };
    };

    const first = runScript(
      [
        exec(['echo', hostile], { stdout: `${c}/out/echo.txt` }),
        exec(['sh', '-c', 'echo oops >&2; exit 3'], { ignore_error: true }),
        exec(['sh', '-c', 'cat; echo "$GREETING" > greeting.txt; pwd'], {
          stdin: `${c}/in/data.txt`,
          workdir: `${c}/wd`,
          env: { GREETING: `hi 'there' $HOME` },
          stdout: `${c}/out/cat.txt`,
        }),
      ],
      [
        { path: `${c}/out/echo.txt`, type: 'FILE', url: 'https://h/echo' },
        { path: `${c}/out`, type: 'DIRECTORY', url: 'https://h/dir' },
        { path: `${c}/wd/*.txt`, path_prefix: `${c}/wd/`, type: 'FILE', url: 'https://h/glob' },
        { path: `${c}/out/none.txt`, type: 'FILE', url: 'https://h/none' },
      ],
    );
    expect(first.code).toBe(0);
    expect(first.records.runtime).toBe('none');
    expect(first.records.executorCount).toBe(3);
    expect(first.records.execs.map((e) => [e.index, e.exitCode])).toEqual([
      [0, 0],
      [1, 3],
      [2, 0],
    ]);
    expect(first.records.endTime).toMatch(/Z$/);
    expect(first.records.system).toEqual([]);
    expect([...first.records.missing]).toEqual(['o3']);
    const out = (name: string) => readFileSync(join(dirs.outputs, name), 'utf8');
    expect(out('o0')).toBe(`${hostile}\n`);
    expect(out('_constellation/0.stdout')).toBe(`${hostile}\n`);
    expect(out('_constellation/1.stderr')).toBe('oops\n');
    expect(out('o1/cat.txt')).toBe(`from input\n${c}/wd\n`);
    expect(out('o2/greeting.txt')).toBe(`hi 'there' $HOME\n`);
    expect(existsSync(join(base, 'pwned'))).toBe(false);
    expect(existsSync(join(base, 'pwned2'))).toBe(false);

    const second = runScript(
      [exec(['true']), exec(['false']), exec(['touch', `${base}/never`])],
      [{ path: `${c}/out/echo.txt`, type: 'FILE', url: 'https://h/echo' }],
    );
    expect(second.code).toBe(1);
    expect(second.records.execs.map((e) => e.exitCode)).toEqual([0, 1]);
    expect(existsSync(join(base, 'never'))).toBe(false);
    // A failed task's outputs are not collected.
    expect(existsSync(join(dirs.outputs, 'o0'))).toBe(false);
  });
});
