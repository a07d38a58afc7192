import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import type { DataSource } from 'typeorm';
import { BrokerError, httpStatusOf } from '@constellation/common';
import { JobFilesService, JobFilesStore } from '@constellation/job-files';
import type { TaskDocument } from '@constellation/tes';
import {
  amqpForTests,
  startFakePulsarAmqp,
  uniqueManager,
  type FakePulsarAmqp,
} from '@constellation/testing';
import { AdapterError, type AdapterSite, type RemoteStatus } from '../site-adapter';
import { PulsarAmqpSiteAdapter, pulsarQueue, type PulsarAmqpSiteAdapterOptions } from './pulsar-amqp.adapter';
import { amqpJobScript, INLINE_LIMIT_BYTES } from './setup-message';
import { prepareJob, RECORDS_LOG } from '../pulsar/job-plan';
import { parseRecords } from '../pulsar/job-records';
import { migratedDataSource } from '../../../../test/support/test-database';
import { exec, newTaskId, task } from '../testing/adapter-fixtures';

// The real adapter, a Pulsar stand-in and the job-files endpoint, talking through the real RabbitMQ.

// Some tests wait out cancel retries and a watchdog's poll; none takes this long when it passes.
jest.setTimeout(30_000);

const amqp = amqpForTests();
const SECRET = 'k'.repeat(40);
const FINAL = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'];

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An HTTP server: the job-files endpoint (as the controller serves it) plus a data store (GET, PUT). */
async function startHttp(store: JobFilesStore, files: Record<string, string>) {
  const service = new JobFilesService(store, { maxFileBytes: 1024 * 1024 });
  const received = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const jobFiles = /^\/api\/v1\/job-files\/([^/]+)$/.exec(url.pathname);
    if (jobFiles) {
      const query = Object.fromEntries(url.searchParams);
      const jobId = decodeURIComponent(jobFiles[1]);
      const work =
        req.method === 'GET'
          ? service.serve(jobId, query, res)
          : service.receive(jobId, query, req).then(() => void res.writeHead(200).end('OK'));
      work.catch((err: unknown) => {
        const status = err instanceof BrokerError ? httpStatusOf(err.code) : 500;
        if (!res.headersSent) res.writeHead(status).end(String((err as Error).message));
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && files[url.pathname] !== undefined) {
        res.writeHead(200).end(files[url.pathname]);
      } else if (req.method === 'PUT') {
        received.set(url.pathname, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(201).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

amqp.describe('PulsarAmqpSiteAdapter against RabbitMQ', () => {
  let db: DataSource;
  let store: JobFilesStore;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let pulsar: FakePulsarAmqp;
  let site: AdapterSite;
  const adapters: PulsarAmqpSiteAdapter[] = [];

  const adapter = (options: Partial<PulsarAmqpSiteAdapterOptions> = {}) => {
    const made = new PulsarAmqpSiteAdapter({
      jobFiles: store,
      timeoutMs: 5_000,
      answerWaitMs: 3_000,
      ...options,
    });
    adapters.push(made);
    return made;
  };

  const finalStatus = async (a: PulsarAmqpSiteAdapter, ref: string): Promise<RemoteStatus> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const answer = (await a.status(site, [ref])).get(ref);
      if (answer instanceof AdapterError) throw answer;
      // As the dispatch delivery step does once a status check reports the outputs waiting.
      if (answer?.awaitingDelivery) return a.deliver(site, ref);
      if (answer && FINAL.includes(answer.state)) return answer;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for job ${ref} to finish`);
  };

  beforeAll(async () => {
    db = await migratedDataSource();
    let base = '';
    store = new JobFilesStore({ db, publicUrl: () => base, secretKey: SECRET });
    http = await startHttp(store, { '/data/genome.fa': '>chr1\nACGT\n' });
    base = http.base;
    pulsar = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    site = {
      id: 'site-1',
      slug: 'amqp',
      kind: 'pulsar-amqp',
      url: amqp.url,
      pulsarManager: pulsar.manager,
      runtimes: ['none'],
      runImagesOnHost: true,
      credentials: null,
    };
  });

  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await pulsar?.close();
    await http?.close();
    await db?.destroy();
  });

  it('names the queues as Pulsar does', () => {
    expect(pulsarQueue('_default_', 'setup')).toBe('pulsar__setup');
    expect(pulsarQueue('constellation', 'status_update')).toBe('pulsar_constellation__status_update');
  });

  it('runs a task: inputs by URL, message and job-files endpoint, outputs back through job-files', async () => {
    const a = adapter();
    const taskId = newTaskId();
    const big = `${'x'.repeat(INLINE_LIMIT_BYTES)}\n`;
    const ref = await a.submit(site, {
      taskId,
      attempt: 1,
      tes: task(
        [
          exec(['cat', '/data/genome.fa', '/data/config.txt']),
          exec(['sh', '-c', 'echo counted > /out/result.txt']),
        ],
        {
          inputs: [
            { url: `${http.base}/data/genome.fa`, path: '/data/genome.fa', type: 'FILE' },
            { content: 'inline config\n', path: '/data/config.txt', type: 'FILE' },
            { content: big, path: '/data/big.txt', type: 'FILE' },
          ],
          outputs: [{ path: '/out/result.txt', url: `${http.base}/results/result.txt`, type: 'FILE' }],
        },
      ),
    });
    expect(ref).toBe(`${taskId}-1`);
    const status = await finalStatus(a, ref);
    expect(status.state).toBe('COMPLETE');
    expect(status.executorLogs).toEqual([
      expect.objectContaining({ exit_code: 0, stdout: '>chr1\nACGT\ninline config\n' }),
      expect.objectContaining({ exit_code: 0 }),
    ]);
    expect(status.outputs).toEqual([
      { url: `${http.base}/results/result.txt`, path: '/out/result.txt', size_bytes: '8' },
    ]);
    expect(http.received.get('/results/result.txt')).toBe('counted\n');

    const [setup] = pulsar.setups().filter((s) => s.job_id === ref);
    const staging = setup.remote_staging as {
      setup: Array<{ name: string; action: Record<string, unknown> }>;
    };
    const actions = Object.fromEntries(staging.setup.map((i) => [i.name, i.action]));
    expect(actions.input_0).toMatchObject({
      action_type: 'remote_transfer',
      url: `${http.base}/data/genome.fa`,
    });
    expect(actions.input_1).toEqual({ action_type: 'message', contents: 'inline config\n' });
    // Too big for the message: Pulsar pulls it from the job-files endpoint, with the job's key.
    expect(actions.input_2).toMatchObject({ action_type: 'remote_transfer' });
    expect(String(actions.input_2.url)).toBe(`${store.endpoint(ref)}&path=input%2Finput_2`);
    expect(pulsar.job(ref)?.files.get('inputs/input_2')?.length).toBe(big.length);
    expect(setup.command_line).toContain('__PULSAR_JOBS_DIRECTORY__');
    // Outputs and the script's records came back as multipart POSTs answered 200.
    expect(
      pulsar
        .posts()
        .filter((p) => p.url.includes(ref))
        .every((p) => p.status === 200),
    ).toBe(true);

    await a.cleanup(site, ref);
    expect(await store.listPosted(ref, 'constellation')).toEqual([]);
  });

  it('reports a failing executor as EXECUTOR_ERROR with its exit code', async () => {
    const a = adapter();
    const ref = await a.submit(site, {
      taskId: newTaskId(),
      attempt: 1,
      tes: task([exec(['sh', '-c', 'exit 3'])]),
    });
    const status = await finalStatus(a, ref);
    expect(status.state).toBe('EXECUTOR_ERROR');
    expect(status.executorLogs[0].exit_code).toBe(3);
  });

  it('finds a job only once it exists, and a resend does not set it up twice', async () => {
    const a = adapter();
    const taskId = newTaskId();
    expect(await a.find(site, taskId, 1)).toBeNull();
    const job = { taskId, attempt: 1, tes: task([exec(['true'])]) };
    const ref = await a.submit(site, job);
    await finalStatus(a, ref);
    expect(await a.find(site, taskId, 1)).toBe(ref);
    expect(await a.submit(site, job)).toBe(ref);
    expect(pulsar.setups().filter((s) => s.job_id === ref)).toHaveLength(1);
  });

  it('sends a first send without asking about the job first, and looks before any other send', async () => {
    const a = adapter();
    const job = { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) };
    const ref = await a.submit(site, { ...job, firstSend: true });
    expect(pulsar.statusRequests().filter((r) => r === ref)).toHaveLength(0);
    expect((await finalStatus(a, ref)).state).toBe('COMPLETE');
    const asked = pulsar.statusRequests().filter((r) => r === ref).length;
    expect(await a.submit(site, job)).toBe(ref);
    expect(pulsar.statusRequests().filter((r) => r === ref)).toHaveLength(asked + 1);
    expect(pulsar.setups().filter((s) => s.job_id === ref)).toHaveLength(1);
  });

  it('answers after a restart from a status request, and still delivers the outputs', async () => {
    const first = adapter();
    const taskId = newTaskId();
    const ref = await first.submit(site, {
      taskId,
      attempt: 1,
      tes: task([exec(['sh', '-c', 'echo again > /out/r.txt'])], {
        outputs: [{ path: '/out/r.txt', url: `${http.base}/results/again.txt`, type: 'FILE' }],
      }),
    });
    await finalStatus(first, ref);
    http.received.delete('/results/again.txt');
    // A new process knows nothing in memory: the spool and a status request are all it has.
    const second = adapter();
    const status = await finalStatus(second, ref);
    expect(status.state).toBe('COMPLETE');
    expect(http.received.get('/results/again.txt')).toBe('again\n');
  });

  it('reports a silent Pulsar as unreachable instead of answering from what it heard before', async () => {
    const other = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    try {
      const a = adapter({ reconcileSeconds: 0, answerWaitMs: 300 });
      const there = { ...site, pulsarManager: other.manager };
      const ref = await a.submit(there, { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) });
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && other.job(ref)?.status !== 'complete')
        await new Promise((r) => setTimeout(r, 20));
      expect(((await a.status(there, [ref])).get(ref) as RemoteStatus).state).toBe('COMPLETE');
      await other.stop();
      await expect(a.status(there, [ref])).rejects.toMatchObject({ kind: 'unreachable' });
      await expect(a.find(there, 'some-task', 1)).rejects.toMatchObject({ kind: 'unreachable' });
    } finally {
      await other.close();
    }
  });

  it('reports a job Pulsar does not know as lost', async () => {
    const a = adapter();
    const ref = `${newTaskId()}-1`;
    const answer = (await a.status(site, [ref])).get(ref);
    expect(answer).toBeInstanceOf(AdapterError);
    expect((answer as AdapterError).kind).toBe('lost');
  });

  it('cancels a running job: kill, then a status request brings cancelled', async () => {
    const a = adapter();
    pulsar.hold();
    try {
      const ref = await a.submit(site, {
        taskId: newTaskId(),
        attempt: 1,
        tes: task([exec(['sleep', '600'])]),
      });
      const deadline = Date.now() + 10_000;
      let state = '';
      while (state !== 'RUNNING' && Date.now() < deadline) {
        const s = (await a.status(site, [ref])).get(ref) as RemoteStatus;
        state = s.state;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(state).toBe('RUNNING');
      await a.cancel(site, ref);
      expect(pulsar.kills()).toContain(ref);
      expect((await finalStatus(a, ref)).state).toBe('CANCELED');
    } finally {
      pulsar.release();
    }
  });

  it('probes: ok while Pulsar consumes, an error naming the queue otherwise, never the password', async () => {
    const a = adapter();
    const ok = await a.probe(site);
    expect(ok).toMatchObject({ ok: true });
    const none = await a.probe({ ...site, pulsarManager: uniqueManager() });
    expect(none.ok).toBe(false);
    expect(none.error).toMatch(/^no queue pulsar_ctest_[0-9a-f]+__setup at amqp:\/\/guest:\*\*\*@/);
    const url = new URL(amqp.url);
    url.password = 'wrong-secret-pw';
    const refused = await a.probe({ ...site, url: url.toString() });
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/auth_failed|unreachable/);
    expect(refused.error).not.toContain('wrong-secret-pw');
  });

  it('uses the broker AMQP_URL for a site without a URL of its own', async () => {
    const a = adapter({ defaultAmqpUrl: amqp.url });
    expect((await a.probe({ ...site, url: null })).ok).toBe(true);
    const none = adapter();
    expect((await none.probe({ ...site, url: null })).error).toContain('no AMQP URL');
  });

  it('the job-files endpoint refuses a wrong key (403) and a path that climbs out (400)', async () => {
    const jobId = `${newTaskId()}-1`;
    const key = store.keys.keyFor(jobId);
    const at = (q: string) => `${http.base}/api/v1/job-files/${jobId}?${q}`;
    expect((await fetch(at('key=nope&path=a'))).status).toBe(403);
    expect((await fetch(at('path=a'))).status).toBe(403);
    expect((await fetch(at(`key=${key}&path=../../etc/passwd`))).status).toBe(400);
    const form = new FormData();
    form.append('file', new Blob(['hi']), 'x');
    const posted = await fetch(at(`key=${key}&path=/a/b.txt&file_type=output`), {
      method: 'POST',
      body: form,
    });
    expect(posted.status).toBe(200);
    expect(await store.listPosted(jobId, 'a')).toEqual(['b.txt']);
    await store.remove(jobId);
  });

  it('refuses (403) an upload for a job whose files were removed, and keeps nothing of it', async () => {
    const jobId = `${newTaskId()}-1`;
    const key = store.keys.keyFor(jobId);
    const post = async (path: string) => {
      const form = new FormData();
      form.append('file', new Blob(['late']), 'x');
      return fetch(
        `${http.base}/api/v1/job-files/${jobId}?key=${key}&path=${path}&file_type=output_workdir`,
        {
          method: 'POST',
          body: form,
        },
      );
    };
    expect((await post('/c/a.txt')).status).toBe(200);
    await store.remove(jobId);
    const late = await post('/c/b.txt');
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('removed');
    expect(await store.listPosted(jobId, 'c')).toEqual([]);
    expect(await db.query('SELECT count(*)::int AS n FROM job_file WHERE job_id = $1', [jobId])).toEqual([
      { n: 0 },
    ]);
  });

  it('fails the task when Pulsar swallowed an output upload: the manifest names the missing file', async () => {
    const a = adapter();
    const submit = (doc: TaskDocument) => a.submit(site, { taskId: newTaskId(), attempt: 1, tes: doc });
    try {
      pulsar.dropPosts(/constellation-out\/o0\/b\.txt$/);
      const dirRef = await submit(
        task([exec(['sh', '-c', 'echo a > /out/d/a.txt; echo b > /out/d/b.txt'])], {
          outputs: [{ path: '/out/d', url: `${http.base}/results/d`, type: 'DIRECTORY' }],
        }),
      );
      const dirStatus = await finalStatus(a, dirRef);
      expect(dirStatus.state).toBe('SYSTEM_ERROR');
      expect(dirStatus.systemLogs).toEqual(['Pulsar did not deliver output /out/d/b.txt']);

      pulsar.dropPosts(/constellation-out\/o0$/);
      const fileRef = await submit(
        task([exec(['sh', '-c', 'echo r > /out/r.txt'])], {
          outputs: [{ path: '/out/r.txt', url: `${http.base}/results/r-dropped.txt`, type: 'FILE' }],
        }),
      );
      const fileStatus = await finalStatus(a, fileRef);
      expect(fileStatus.state).toBe('SYSTEM_ERROR');
      expect(fileStatus.systemLogs).toEqual(['Pulsar did not deliver output /out/r.txt']);
      expect(http.received.has('/results/r-dropped.txt')).toBe(false);

      pulsar.dropPosts(/_constellation\/manifest$/);
      const noManifest = await submit(
        task([exec(['sh', '-c', 'echo r > /out/r.txt'])], {
          outputs: [{ path: '/out/r.txt', url: `${http.base}/results/r2.txt`, type: 'FILE' }],
        }),
      );
      expect((await finalStatus(a, noManifest)).systemLogs).toEqual([
        'Pulsar did not deliver _constellation/manifest',
      ]);
    } finally {
      pulsar.dropPosts(null);
    }
  });

  it('keeps killing a job Pulsar is still staging: cancel is unreachable until the kill takes', async () => {
    const a = adapter({ cancelWaitMs: 1_000 });
    pulsar.holdStaging();
    let released = false;
    try {
      const ref = await a.submit(site, {
        taskId: newTaskId(),
        attempt: 1,
        tes: task([exec(['sleep', '600'])]),
      });
      await until('the setup to arrive', () => pulsar.job(ref)?.status === 'preprocessing');
      await expect(a.cancel(site, ref)).rejects.toMatchObject({
        kind: 'unreachable',
        message: 'kill not yet effective: Pulsar is still staging inputs',
      });
      expect(pulsar.kills().filter((k) => k === ref).length).toBeGreaterThan(1);
      pulsar.releaseStaging();
      released = true;
      // Pulsar launches the job after all: the retried cancel kills it.
      await a.cancel(site, ref);
      expect(pulsar.job(ref)?.status).toBe('cancelled');
    } finally {
      if (!released) pulsar.releaseStaging();
    }
  });

  it('asks again about a job with a kill pending instead of trusting a fresh `running`', async () => {
    const other = await startFakePulsarAmqp({
      amqpUrl: amqp.url,
      manager: uniqueManager(),
      killDelayMs: 600,
    });
    other.hold();
    try {
      const a = adapter({ cancelWaitMs: 200 });
      const there = { ...site, pulsarManager: other.manager };
      const ref = await a.submit(there, {
        taskId: newTaskId(),
        attempt: 1,
        tes: task([exec(['sleep', '600'])]),
      });
      await until('the job to run', () => other.job(ref)?.status === 'running');
      await expect(a.cancel(there, ref)).rejects.toMatchObject({
        kind: 'unreachable',
        message: 'kill not yet effective: Pulsar still reports the job running',
      });
      await until('the kill to take', () => other.job(ref)?.status === 'cancelled');
      expect(((await a.status(there, [ref])).get(ref) as RemoteStatus).state).toBe('CANCELED');
    } finally {
      other.release();
      await other.close();
    }
  });

  it('acknowledges status updates of a site with amqp_acknowledge: true', async () => {
    const other = await startFakePulsarAmqp({
      amqpUrl: amqp.url,
      manager: uniqueManager(),
      acknowledge: true,
    });
    try {
      const a = adapter();
      const there = { ...site, pulsarManager: other.manager };
      const ref = await a.submit(there, { taskId: newTaskId(), attempt: 1, tes: task([exec(['true'])]) });
      const deadline = Date.now() + 20_000;
      let state = '';
      while (!FINAL.includes(state) && Date.now() < deadline) {
        const answer = (await a.status(there, [ref])).get(ref);
        state = answer instanceof AdapterError ? '' : (answer?.state ?? '');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe('COMPLETE');
      const asked = other.ackRequests();
      expect(asked.length).toBeGreaterThan(1);
      await until('every update acknowledged', () => asked.every((uuid) => other.acks().includes(uuid)));
    } finally {
      await other.close();
    }
  });

  it('sends status requests with an expiration, so they do not pile up while Pulsar is down', async () => {
    const other = await startFakePulsarAmqp({ amqpUrl: amqp.url, manager: uniqueManager() });
    const model = await connect(amqp.url);
    try {
      await other.stop();
      const a = adapter({ answerWaitMs: 200 });
      const there = { ...site, pulsarManager: other.manager };
      await expect(a.status(there, [`${newTaskId()}-1`])).rejects.toMatchObject({ kind: 'unreachable' });
      const ch = await model.createChannel();
      const message = await ch.get(pulsarQueue(other.manager, 'status'), { noAck: true });
      expect(message && message.properties.expiration).toBe('60000');
    } finally {
      await model.close();
      await other.close();
    }
  });
});

describe('the AMQP job script', () => {
  it('takes its folders from the job directory Pulsar substitutes into the command line', () => {
    const prepared = prepareJob(
      { taskId: '0197a0b2-0000-7000-8000-000000000001', attempt: 1, tes: task([exec(['true'])]) },
      { runtimes: ['none'], runImagesOnHost: true },
      [],
    );
    const script = amqpJobScript(prepared);
    expect(script).toContain(`I="$CONSTELLATION_JOB_DIR"'/inputs'`);
    expect(script).toContain(`W="$CONSTELLATION_JOB_DIR"'/working'`);
    expect(script).toContain(`O="$CONSTELLATION_JOB_DIR"'/working/constellation-out'`);
    expect(script).not.toContain('__constellation_job_directory__');
  });

  it('writes a manifest of the collected outputs, follows symbolic links, removes inputs and scratch', () => {
    const base = mkdtempSync(join(tmpdir(), 'amqp-script-'));
    try {
      const job = join(base, 'job');
      const c = join(base, 'c');
      for (const d of ['inputs', 'working', 'tool_files']) mkdirSync(join(job, d), { recursive: true });
      const prepared = prepareJob(
        {
          taskId: 't',
          attempt: 1,
          tes: task(
            [
              exec([
                'sh',
                '-c',
                `mkdir -p ${c}/out/d && echo hello > ${c}/target.txt && ln -s ${c}/target.txt ${c}/out/link.txt ` +
                  `&& echo a > ${c}/out/d/a.txt && ln -s ${c}/target.txt ${c}/out/d/l.txt`,
              ]),
            ],
            {
              inputs: [{ content: 'x', path: `${c}/in.txt`, type: 'FILE' }],
              outputs: [
                { path: `${c}/out/link.txt`, type: 'FILE', url: 'https://h/l' },
                { path: `${c}/out/d`, type: 'DIRECTORY', url: 'https://h/d' },
              ],
            },
          ),
        },
        { runtimes: ['none'], runImagesOnHost: true },
        [],
      );
      writeFileSync(join(job, 'inputs', 'input_0'), 'x');
      const path = join(job, 'tool_files', 'script.sh');
      writeFileSync(path, amqpJobScript(prepared));
      execFileSync('bash', [path], {
        cwd: join(job, 'working'),
        env: { ...process.env, CONSTELLATION_JOB_DIR: job },
        stdio: 'pipe',
      });
      const out = join(job, 'working', 'constellation-out');
      const records = parseRecords(readFileSync(join(out, RECORDS_LOG), 'utf8'), 'test');
      expect(records.system).toEqual([]);
      expect(records.endTime).toMatch(/Z$/);
      const manifest = readFileSync(join(out, '_constellation', 'manifest'), 'utf8');
      expect(manifest.split('\n').filter(Boolean).sort()).toEqual(['2\to1/a.txt', '6\to0', '6\to1/l.txt']);
      expect(lstatSync(join(out, 'o0')).isSymbolicLink()).toBe(false);
      expect(lstatSync(join(out, 'o1', 'l.txt')).isSymbolicLink()).toBe(false);
      expect(readFileSync(join(out, 'o1', 'l.txt'), 'utf8')).toBe('hello\n');
      // Pulsar keeps the job directory in this mode: the script leaves only what it collected.
      expect(existsSync(join(job, 'inputs'))).toBe(false);
      expect(existsSync(join(job, 'working', '_constellation'))).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
