import type { TaskDocument, TesExecutor, TesResources, TesState } from '@constellation/tes';
import { Agent } from 'undici';
import { startFakeTesSite, type FakeTesSite, type FakeTesSiteOptions } from '@constellation/testing';
import {
  AdapterError,
  ATTEMPT_TAG,
  STREAM_TAIL_BYTES,
  TASK_TAG,
  type AdapterSite,
  type RemoteStatus,
  type SubmitJob,
} from '../site-adapter';
import { newTaskId, rejection } from '../testing/adapter-fixtures';
import { TesSiteAdapter, type TesSiteAdapterOptions } from './tes.adapter';

// The real adapter against the real fake TES server over loopback: no HTTP mocks.

const agent = new Agent({ keepAliveTimeout: 1_000 });
const started: FakeTesSite[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((site) => site.close()));
});
afterAll(() => agent.close());

async function fakeSite(options: FakeTesSiteOptions = {}): Promise<FakeTesSite> {
  const site = await startFakeTesSite({ stepDelayMs: 5, ...options });
  started.push(site);
  return site;
}

function adapter(options: TesSiteAdapterOptions = {}): TesSiteAdapter {
  return new TesSiteAdapter({ dispatcher: agent, timeoutMs: 2_000, ...options });
}

function siteAt(url: string, credentials: AdapterSite['credentials'] = null, id = 'site-1'): AdapterSite {
  return { id, slug: 'fake', kind: 'tes', url, pulsarManager: null, runtimes: [], credentials };
}

function exec(...command: string[]): TesExecutor {
  return { image: 'alpine:3', command };
}

function documentOf(executors: TesExecutor[], extra: Partial<TaskDocument> = {}): TaskDocument {
  return { inputs: [], outputs: [], executors, volumes: [], tags: {}, ...extra };
}

/** A first attempt of a new task running `executors` (by default one that succeeds). */
function jobOf(executors: TesExecutor[] = [exec('true')], extra: Partial<TaskDocument> = {}): SubmitJob {
  return { taskId: newTaskId(), attempt: 1, tes: documentOf(executors, extra) };
}

/** A fresh fake site, an adapter and one task submitted to it through the site's root URL. */
async function submittedTo(options: FakeTesSiteOptions, job: SubmitJob = jobOf()) {
  const fake = await fakeSite(options);
  const tes = adapter();
  const site = siteAt(fake.url);
  const ref = await tes.submit(site, job);
  return { fake, tes, site, ref };
}

async function statusOf(tes: TesSiteAdapter, site: AdapterSite, ref: string): Promise<RemoteStatus> {
  const outcome = (await tes.status(site, [ref])).get(ref);
  if (!outcome || outcome instanceof AdapterError)
    throw new Error(`no status for ${ref}: ${String(outcome)}`);
  return outcome;
}

/** Polls until the remote task reaches one of `states`; fails naming the state it was stuck in. */
/** Submits a one-executor task of a fresh id: what the status tests follow. */
function submitTrue(tes: TesSiteAdapter, site: AdapterSite): Promise<string> {
  return tes.submit(site, { taskId: newTaskId(), attempt: 1, tes: documentOf([exec('true')]) });
}

/** Polls the fake's own record until `done` holds, naming what it waited for when it never does. */
async function waitFor(what: string, done: () => boolean, deadlineMs = 5_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitForState(
  tes: TesSiteAdapter,
  site: AdapterSite,
  ref: string,
  states: readonly TesState[],
  deadlineMs = 5_000,
): Promise<RemoteStatus> {
  const deadline = Date.now() + deadlineMs;
  let last: RemoteStatus | undefined;
  while (Date.now() < deadline) {
    last = await statusOf(tes, site, ref);
    if (states.includes(last.state)) return last;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`task ${ref} did not reach ${states.join('/')} in ${deadlineMs} ms (last: ${last?.state})`);
}

const serviceInfoCalls = (site: FakeTesSite) =>
  site
    .requests()
    .filter((r) => r.path.endsWith('/service-info'))
    .map((r) => r.path);

describe('TesSiteAdapter', () => {
  describe('API discovery', () => {
    it('finds the API under /ga4gh/tes/v1 and asks for service-info only once', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(`${fake.url}/`);
      const ref = await tes.submit(site, jobOf());
      await statusOf(tes, site, ref);
      expect(serviceInfoCalls(fake)).toEqual(['/ga4gh/tes/v1/service-info']);
      expect(fake.requests().find((r) => r.method === 'POST')?.path).toBe('/ga4gh/tes/v1/tasks');
    });

    it('falls back to /v1 when /ga4gh/tes/v1 is not there', async () => {
      const fake = await fakeSite({ basePath: '/v1' });
      const tes = adapter();
      const site = siteAt(fake.url);
      expect((await tes.probe(site)).ok).toBe(true);
      const ref = await tes.submit(site, jobOf());
      expect(fake.task(ref)?.executors).toEqual([exec('true')]);
      expect(serviceInfoCalls(fake)).toEqual(['/ga4gh/tes/v1/service-info', '/v1/service-info']);
      expect(fake.requests().find((r) => r.method === 'POST')?.path).toBe('/v1/tasks');
    });

    it('uses a URL that already names the API without looking for it', async () => {
      const fake = await fakeSite({ basePath: '/v1' });
      const tes = adapter();
      await tes.submit(siteAt(fake.apiUrl), jobOf());
      expect(serviceInfoCalls(fake)).toEqual([]);
      expect(fake.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /v1/tasks',
        'POST /v1/tasks',
      ]);
    });

    it('reports a site where nothing answers like TES as a protocol error', async () => {
      const fake = await fakeSite({ basePath: '/api/tes' });
      const tes = adapter();
      const probe = await tes.probe(siteAt(fake.url));
      expect(probe).toEqual({
        ok: false,
        latencyMs: null,
        error: expect.stringMatching(/^protocol_error: no TES/),
      });
      const err = await rejection(tes.find(siteAt(fake.url), newTaskId(), 1));
      expect(err.kind).toBe('protocol_error');
    });
  });

  describe('authentication', () => {
    it('sends the token as a Bearer header and maps 401 to auth_failed without showing the token', async () => {
      const fake = await fakeSite({ requireToken: 'right-token-123' });
      const tes = adapter();
      const good = siteAt(fake.url, { token: 'right-token-123' });
      expect((await tes.probe(good)).ok).toBe(true);
      expect(fake.requests().map((r) => r.authorization)).toEqual(['Bearer right-token-123']);

      const wrong = siteAt(fake.url, { token: 'wrong-token-456' }, 'site-2');
      const probe = await tes.probe(wrong);
      expect(probe.ok).toBe(false);
      expect(probe.error).toMatch(/^auth_failed: /);
      expect(probe.error).not.toContain('wrong-token-456');
      const submit = await rejection(
        tes.submit(wrong, { taskId: newTaskId(), attempt: 1, tes: documentOf([]) }),
      );
      expect(submit.kind).toBe('auth_failed');
      expect(submit.message).not.toContain('wrong-token-456');
      const status = await rejection(tes.status(siteAt(fake.apiUrl, { token: 'wrong-token-456' }), ['abc']));
      expect(status.kind).toBe('auth_failed');
    });

    it('sends a username and password, or the user info of the URL, as Basic credentials', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      await tes.probe(siteAt(fake.url, { username: 'galaxy', password: 'pa:ss' }));
      await tes.probe(siteAt(fake.url.replace('http://', 'http://alice:t%40k@'), null, 'site-2'));
      expect(fake.requests().map((r) => r.authorization)).toEqual([
        `Basic ${Buffer.from('galaxy:pa:ss').toString('base64')}`,
        `Basic ${Buffer.from('alice:t@k').toString('base64')}`,
      ]);
    });
  });

  describe('probe and schemes', () => {
    it('reports the version and latency when up, and a short reason when down, without throwing', async () => {
      const fake = await fakeSite({ version: '0.11.2' });
      const tes = adapter();
      const site = siteAt(fake.url);
      const up = await tes.probe(site);
      expect(up).toEqual({ ok: true, latencyMs: expect.any(Number), version: '0.11.2' });
      await fake.down();
      expect(await tes.probe(site)).toEqual({
        ok: false,
        latencyMs: null,
        error: 'unreachable: GET /ga4gh/tes/v1/service-info: connection refused',
      });
      await fake.up();
      expect((await tes.probe(site)).ok).toBe(true);
    });

    it('gives up on a site slower than the timeout', async () => {
      const fake = await fakeSite();
      fake.slow(300);
      const tes = adapter({ timeoutMs: 100 });
      const probe = await tes.probe(siteAt(fake.apiUrl));
      expect(probe).toEqual({
        ok: false,
        latencyMs: null,
        error: 'unreachable: GET /ga4gh/tes/v1/service-info: timed out after 100 ms',
      });
    });

    it('takes lowercase schemes from service-info storage, caches them, and allows any when none are listed', async () => {
      let now = 1_000_000;
      const fake = await fakeSite({
        storage: ['S3://bucket/x', 'file:///data/', 'https://store.example.org/'],
      });
      const tes = adapter({ now: () => now, schemesTtlMs: 60_000 });
      const site = siteAt(fake.url);
      const want = { inputs: ['file', 'https', 's3'], outputs: ['file', 'https', 's3'] };
      expect(await tes.schemes(site)).toEqual(want);
      expect(await tes.schemes(site)).toEqual(want);
      expect(serviceInfoCalls(fake)).toHaveLength(1);
      now += 60_001;
      await tes.schemes(site);
      expect(serviceInfoCalls(fake)).toHaveLength(2);

      const open = await fakeSite();
      expect(await tes.schemes(siteAt(open.url))).toEqual({ inputs: ['*'], outputs: ['*'] });
    });
  });

  describe('submit', () => {
    it('forwards the document without the broker parameters or empty fields, tagged with task and attempt', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const taskId = newTaskId();
      const document = documentOf([{ ...exec('echo', 'hi'), env: {} }], {
        name: 'align',
        resources: {
          cpu_cores: 2,
          zones: [],
          backend_parameters: { 'constellation.site': 'eu-1', 'Constellation.GPUs': '1', VmSize: 'large' },
          backend_parameters_strict: true,
        },
        tags: { project: 'p1', [TASK_TAG]: 'spoofed' },
      });
      const ref = await tes.submit(siteAt(fake.url), { taskId, attempt: 3, tes: document });
      const post = fake.requests().find((r) => r.method === 'POST');
      expect(post?.body).toEqual({
        name: 'align',
        resources: { cpu_cores: 2, backend_parameters: { VmSize: 'large' }, backend_parameters_strict: true },
        executors: [exec('echo', 'hi')],
        tags: { project: 'p1', [TASK_TAG]: taskId, [ATTEMPT_TAG]: '3' },
      });
      expect(fake.task(ref)?.tags).toEqual({ project: 'p1', [TASK_TAG]: taskId, [ATTEMPT_TAG]: '3' });
    });

    it.each<{ name: string; resources: TesResources; want: TesResources | undefined }>([
      {
        name: 'drops resources left empty',
        resources: { backend_parameters: { 'constellation.site': 'eu-1' }, backend_parameters_strict: true },
        want: undefined,
      },
      {
        name: 'drops backend_parameters_strict with no parameters left',
        resources: {
          ram_gb: 4,
          backend_parameters: { 'CONSTELLATION.gpu_type': 'A100' },
          backend_parameters_strict: false,
        },
        want: { ram_gb: 4 },
      },
    ])('$name', async ({ resources, want }) => {
      const fake = await fakeSite();
      await adapter().submit(siteAt(fake.url), {
        taskId: newTaskId(),
        attempt: 1,
        tes: documentOf([exec('true')], { resources }),
      });
      const body = fake.requests().find((r) => r.method === 'POST')?.body as Record<string, unknown>;
      expect(body.resources).toEqual(want);
      expect(Object.keys(body).sort()).toEqual(
        want ? ['executors', 'resources', 'tags'] : ['executors', 'tags'],
      );
    });

    it('says a create may have made a copy when its answer never came, and not when it never left', async () => {
      const fake = await fakeSite();
      fake.slowCreates(500);
      const job = jobOf();
      const late = await rejection(adapter({ timeoutMs: 200 }).submit(siteAt(fake.url), job));
      expect(late.kind).toBe('unreachable');
      expect(late.inDoubt).toBe(true);
      fake.slowCreates(0);
      fake.failNext(502, 1, { method: 'POST', path: '/tasks' });
      expect(
        (await rejection(adapter().submit(siteAt(fake.url), { ...job, taskId: newTaskId() }))).inDoubt,
      ).toBe(true);
      fake.failNext(400, 1, { method: 'POST', path: '/tasks' });
      expect(
        (await rejection(adapter().submit(siteAt(fake.url), { ...job, taskId: newTaskId() }))).inDoubt,
      ).toBe(false);
      const port = fake.port;
      await fake.close();
      const refused = await rejection(adapter().submit(siteAt(`http://127.0.0.1:${port}`), job));
      expect(refused.kind).toBe('unreachable');
      expect(refused.inDoubt).toBe(false);
    });

    it('returns the existing task when the same attempt is submitted again', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const job = jobOf();
      const first = await tes.submit(siteAt(fake.url), job);
      const second = await tes.submit(siteAt(fake.url), job);
      expect(second).toBe(first);
      expect(fake.tasks().map((t) => t.id)).toEqual([first]);
      expect(fake.requests().filter((r) => r.method === 'POST')).toHaveLength(1);
      const other = await tes.submit(siteAt(fake.url), { ...job, attempt: 2 });
      expect(other).not.toBe(first);
      expect(fake.tasks()).toHaveLength(2);
    });

    it('posts a first send without listing the attempt’s copies first, and lists before any other send', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const job = jobOf();
      const first = await tes.submit(site, { ...job, firstSend: true });
      const lists = () => fake.requests().filter((r) => r.method === 'GET' && r.query.includes('tag_key'));
      expect(lists()).toHaveLength(0);
      expect(await tes.submit(site, { ...job, firstSend: false })).toBe(first);
      expect(lists()).toHaveLength(1);
      expect(fake.requests().filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('submits again after its copy of the same attempt was cancelled', async () => {
      const fake = await fakeSite({ hold: true });
      const tes = adapter();
      const site = siteAt(fake.url);
      const job = jobOf();
      const first = await tes.submit(site, job);
      await tes.cancel(site, first);
      const second = await tes.submit(site, job);
      expect(second).not.toBe(first);
      expect(fake.tasks().map((t) => t.state)).toEqual(['CANCELED', 'QUEUED']);
    });

    it('maps a refused submission to rejected with the site’s message', async () => {
      const fake = await fakeSite();
      fake.mode = 'reject-submissions';
      const err = await rejection(adapter().submit(siteAt(fake.url), jobOf()));
      expect(err.kind).toBe('rejected');
      expect(err.message).toBe(
        'POST /ga4gh/tes/v1/tasks: HTTP 400: this site does not accept new tasks right now',
      );
    });

    it.each([
      {
        name: 'no id',
        body: '{"name":"x"}',
        want: /POST \/ga4gh\/tes\/v1\/tasks: id must be a non-empty string/,
      },
      { name: 'not JSON', body: '<html>ok</html>', want: /response is not JSON/ },
      { name: 'an empty id', body: '{"id":""}', want: /id must be a non-empty string/ },
    ])('reports a created-task answer with $name as a protocol error', async ({ body, want }) => {
      const fake = await fakeSite();
      fake.failNext(200, 1, { method: 'POST', path: '/tasks', body });
      const err = await rejection(adapter().submit(siteAt(fake.url), jobOf()));
      expect(err.kind).toBe('protocol_error');
      expect(err.message).toMatch(want);
    });

    it('maps 500 and a site that is down to unreachable', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const job = jobOf();
      fake.mode = 'http500';
      expect(await rejection(tes.submit(site, job))).toMatchObject({ kind: 'unreachable' });
      fake.mode = 'ok';
      await fake.down();
      expect(await rejection(tes.submit(site, job))).toMatchObject({ kind: 'unreachable' });
      expect(fake.tasks()).toHaveLength(0);
    });
  });

  describe('find', () => {
    it('filters by both tags and checks them itself when the site ignores tag filters (TES 1.0)', async () => {
      const fake = await fakeSite({ ignoreTagFilters: true });
      const tes = adapter();
      const site = siteAt(fake.url);
      const [a, b] = [newTaskId(), newTaskId()];
      const a1 = await tes.submit(site, { taskId: a, attempt: 1, tes: documentOf([exec('true')]) });
      const b1 = await tes.submit(site, { taskId: b, attempt: 1, tes: documentOf([exec('true')]) });
      const a2 = await tes.submit(site, { taskId: a, attempt: 2, tes: documentOf([exec('true')]) });
      expect(new Set([a1, b1, a2]).size).toBe(3);
      expect(await tes.find(site, a, 1)).toBe(a1);
      expect(await tes.find(site, a, 2)).toBe(a2);
      expect(await tes.find(site, b, 1)).toBe(b1);
      expect(await tes.find(site, b, 2)).toBeNull();
      expect(await tes.find(site, newTaskId(), 1)).toBeNull();
      const lists = fake.requests().filter((r) => r.method === 'GET' && r.path === '/ga4gh/tes/v1/tasks');
      expect(lists.at(-2)?.query).toBe(
        'tag_key=constellation.task&tag_value=' + b + '&tag_key=constellation.attempt&tag_value=2&view=BASIC',
      );
    });

    it('follows next_page_token, but only for a bounded number of pages', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.apiUrl);
      const taskId = newTaskId();
      const ref = await tes.submit(site, { taskId, attempt: 1, tes: documentOf([exec('true')]) });
      const unrelated = {
        id: 'other',
        state: 'COMPLETE',
        tags: { [TASK_TAG]: 'someone-else', [ATTEMPT_TAG]: '1' },
      };
      // "MA" is the fake's own token for offset 0, so the page after the injected one is the real list.
      fake.failNext(200, 1, {
        method: 'GET',
        path: '/tasks',
        body: JSON.stringify({ tasks: [unrelated], next_page_token: 'MA' }),
      });
      expect(await tes.find(site, taskId, 1)).toBe(ref);
      expect(fake.requests().at(-1)?.query).toContain('page_token=MA');

      const endless = JSON.stringify({ tasks: [unrelated], next_page_token: 'again' });
      fake.failNext(200, 20, { method: 'GET', path: '/tasks', body: endless });
      const before = fake.requests().length;
      expect(await tes.find(site, taskId, 1)).toBeNull();
      expect(fake.requests().length - before).toBe(5);
    });

    it('lists every live copy of an attempt, oldest first, leaving cancelled ones out', async () => {
      const fake = await fakeSite({ hold: true });
      const tes = adapter();
      const site = siteAt(fake.apiUrl);
      const taskId = newTaskId();
      const tags = { [TASK_TAG]: taskId, [ATTEMPT_TAG]: '1' };
      const post = async () => {
        const res = await fetch(`${fake.apiUrl}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ executors: [exec('true')], tags }),
        });
        return ((await res.json()) as { id: string }).id;
      };
      const first = await post();
      await new Promise((r) => setTimeout(r, 5));
      const second = await post();
      await new Promise((r) => setTimeout(r, 5));
      const third = await post();
      await tes.cancel(site, second);
      expect(await tes.copies(site, taskId, 1)).toEqual([first, third]);
      expect(await tes.find(site, taskId, 1)).toBe(third);
      expect(await tes.copies(site, taskId, 2)).toEqual([]);
    });

    it('reports a malformed list as a protocol error naming the field', async () => {
      const fake = await fakeSite();
      fake.failNext(200, 1, { method: 'GET', path: '/tasks', body: '{"tasks":[{"state":"QUEUED"}]}' });
      const err = await rejection(adapter().find(siteAt(fake.apiUrl), newTaskId(), 1));
      expect(err.kind).toBe('protocol_error');
      expect(err.message).toBe('GET /ga4gh/tes/v1/tasks: tasks[0].id must be a non-empty string');
    });
  });

  describe('status', () => {
    it('follows a task from QUEUED to COMPLETE with its executor logs and outputs', async () => {
      const { fake, tes, site, ref } = await submittedTo(
        { hold: true },
        jobOf([{ ...exec('echo', 'hello', 'world'), stdout: '/out/greeting' }], {
          outputs: [{ url: 's3://bucket/greeting', path: '/out/greeting', type: 'FILE' }],
        }),
      );
      expect(await statusOf(tes, site, ref)).toEqual({
        state: 'QUEUED',
        executorLogs: [],
        outputs: [],
        systemLogs: [],
      });
      fake.release();
      const done = await waitForState(tes, site, ref, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR']);
      expect(done).toEqual({
        state: 'COMPLETE',
        executorLogs: [
          {
            exit_code: 0,
            stdout: 'hello world\n',
            stderr: '',
            start_time: expect.stringMatching(/^\d{4}-/),
            end_time: expect.stringMatching(/^\d{4}-/),
          },
        ],
        outputs: [{ url: 's3://bucket/greeting', path: '/out/greeting', size_bytes: '12' }],
        systemLogs: ['fake-worker-1 picked the task up'],
        startTime: expect.stringMatching(/^\d{4}-/),
        endTime: expect.stringMatching(/^\d{4}-/),
      });
      expect(fake.requests().at(-1)?.query).toBe('view=FULL');
    });

    it.each([
      { name: 'a failing executor stops the task', ignore: false, state: 'EXECUTOR_ERROR', codes: [1] },
      { name: 'ignore_error runs the next executor', ignore: true, state: 'COMPLETE', codes: [1, 0] },
    ])('$name', async ({ ignore, state, codes }) => {
      const { tes, site, ref } = await submittedTo(
        {},
        jobOf([{ ...exec('false'), ignore_error: ignore }, exec('echo', 'after')]),
      );
      const done = await waitForState(tes, site, ref, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR']);
      expect(done.state).toBe(state);
      expect(done.executorLogs.map((l) => l.exit_code)).toEqual(codes);
    });

    it('reports the exit codes and stderr of shell exits and missing commands', async () => {
      const { tes, site, ref } = await submittedTo(
        {},
        jobOf([
          { ...exec('sh', '-c', 'exit 3'), ignore_error: true },
          { ...exec('cat', '/in/missing'), ignore_error: true },
          exec('samtools', 'view'),
        ]),
      );
      const done = await waitForState(tes, site, ref, ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR']);
      expect(done.state).toBe('EXECUTOR_ERROR');
      expect(done.executorLogs.map((l) => [l.exit_code, l.stderr])).toEqual([
        [3, ''],
        [1, 'cat: /in/missing: No such file or directory\n'],
        [127, 'samtools: command not found\n'],
      ]);
    });

    it('keeps only the last STREAM_TAIL_BYTES of stdout, cut on a character boundary', async () => {
      const { fake, tes, site, ref } = await submittedTo(
        {},
        jobOf([exec('echo', `${'é'.repeat(40_000)}ENDS`)]),
      );
      const done = await waitForState(tes, site, ref, ['COMPLETE']);
      const stdout = done.executorLogs[0].stdout ?? '';
      expect(fake.task(ref)?.logs?.[0].logs[0].stdout).toHaveLength(40_005);
      expect(stdout.endsWith('éENDS\n')).toBe(true);
      expect(stdout.startsWith('é')).toBe(true);
      expect(stdout).not.toContain('\ufffd');
      // 5 ASCII bytes leave an odd budget for 2-byte characters: the cut drops the half character.
      expect(Buffer.byteLength(stdout)).toBe(STREAM_TAIL_BYTES - 1);
    });

    it('maps a task the site forgot to lost, for that ref alone', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const kept = await tes.submit(site, jobOf());
      const lost = await tes.submit(site, jobOf());
      fake.forget(lost);
      const result = await tes.status(site, [kept, lost]);
      expect(result.size).toBe(2);
      expect(result.get(kept)).toMatchObject({ executorLogs: expect.any(Array) });
      expect(result.get(lost)).toBeInstanceOf(AdapterError);
      expect(result.get(lost)).toMatchObject({ kind: 'lost' });
    });

    it('rejects the whole call as unreachable when the site is down or failing', async () => {
      const { fake, tes, site, ref } = await submittedTo({});
      fake.mode = 'http500';
      const refs = [ref, ...Array.from({ length: 29 }, (_, i) => `missing-${i}`)];
      const before = fake.requests().length;
      const failing = await rejection(tes.status(site, refs));
      expect(failing.kind).toBe('unreachable');
      expect(failing.message).toMatch(/HTTP 500/);
      // It stops asking once a round of workers got no answer instead of trying all 30 refs.
      expect(fake.requests().length - before).toBeLessThanOrEqual(16);
      fake.mode = 'ok';
      await fake.down();
      expect(await rejection(tes.status(site, [ref]))).toMatchObject({ kind: 'unreachable' });
    });

    it('asks about tasks on their way with one list call per page and no GET per task', async () => {
      const fake = await fakeSite({ hold: true });
      const tes = adapter({ listPageSize: 3 });
      const site = siteAt(fake.url);
      const refs: string[] = [];
      for (let i = 0; i < 7; i++) {
        refs.push(await submitTrue(tes, site));
      }
      const before = fake.requests().length;
      const result = await tes.status(site, refs);
      const calls = fake.requests().slice(before);
      expect(refs.map((ref) => (result.get(ref) as RemoteStatus).state)).toEqual(Array(7).fill('QUEUED'));
      // 7 tasks, 3 a page: three pages, each asked once, filtered by the broker's tag, BASIC view.
      expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(Array(3).fill('GET /ga4gh/tes/v1/tasks'));
      expect(calls.map((c) => new URLSearchParams(c.query).get('page_token') === null)).toEqual([
        true,
        false,
        false,
      ]);
      expect(calls.every((c) => /tag_key=constellation\.task&view=BASIC&page_size=3/.test(c.query))).toBe(
        true,
      );
    });

    it('stops listing once every task is found, and reads a finished or unlisted task alone', async () => {
      const fake = await fakeSite({ hold: true });
      const tes = adapter({ listPageSize: 2 });
      const site = siteAt(fake.url);
      const submit = () => submitTrue(tes, site);
      const [a, b, gone, c, d, e] = [
        await submit(),
        await submit(),
        await submit(),
        await submit(),
        await submit(),
        await submit(),
      ];
      fake.forget(gone);
      const paths = async (refs: string[]) => {
        const before = fake.requests().length;
        const result = await tes.status(site, refs);
        return {
          result,
          paths: fake
            .requests()
            .slice(before)
            .map((r) => r.path),
        };
      };
      // Listed newest first, two a page: [e, d] [c, b] [a]. Four tasks found on two pages: no third one.
      const found = await paths([e, d, c, b]);
      expect(found.paths).toEqual(['/ga4gh/tes/v1/tasks', '/ga4gh/tes/v1/tasks']);
      expect([e, d, c, b].map((ref) => (found.result.get(ref) as RemoteStatus).state)).toEqual(
        Array(4).fill('QUEUED'),
      );
      // Two tasks: one page at most (more would cost more calls than asking each); the rest are read alone.
      const missing = await paths([e, gone]);
      expect(missing.paths).toEqual(['/ga4gh/tes/v1/tasks', `/ga4gh/tes/v1/tasks/${gone}`]);
      expect(missing.result.get(gone)).toMatchObject({ kind: 'lost' });
      const older = await paths([e, a]);
      expect(older.paths).toEqual(['/ga4gh/tes/v1/tasks', `/ga4gh/tes/v1/tasks/${a}`]);
      expect((older.result.get(a) as RemoteStatus).state).toBe('QUEUED');
      // One task alone is read directly.
      expect((await paths([c])).paths).toEqual([`/ga4gh/tes/v1/tasks/${c}`]);
      fake.release();
      await waitFor('task d to complete', () => fake.task(d)?.state === 'COMPLETE');
      const done = await paths([d, e]);
      // The final record comes from the FULL view, streams included.
      expect((done.result.get(d) as RemoteStatus).state).toBe('COMPLETE');
      expect((done.result.get(d) as RemoteStatus).streamsOmitted).toBeUndefined();
      // (e may have finished by now too, and be read alone after d.)
      expect(done.paths.slice(0, 2)).toEqual(['/ga4gh/tes/v1/tasks', `/ga4gh/tes/v1/tasks/${d}`]);
    });

    /** Submits these jobs, waits until the site has ended them all, and returns their refs. */
    async function endedAt(fake: FakeTesSite, tes: TesSiteAdapter, site: AdapterSite, jobs: SubmitJob[]) {
      const refs: string[] = [];
      for (const job of jobs) refs.push(await tes.submit(site, job));
      await waitFor('every task to end', () =>
        refs.every((ref) => ['COMPLETE', 'EXECUTOR_ERROR'].includes(fake.task(ref)?.state ?? '')),
      );
      return refs;
    }

    /** The requests made since `before`, as path and query. */
    const callsSince = (fake: FakeTesSite, before: number) =>
      fake
        .requests()
        .slice(before)
        .map((r) => `${r.path}?${r.query}`);

    it('reads many ended tasks from one FULL list by state, with the logs a read alone gives', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const echo = (i: number) => jobOf([exec('echo', `hello ${i}`)]);
      const refs = await endedAt(fake, tes, site, [
        ...[1, 2, 3, 4, 5].map(echo),
        jobOf([exec('sh', '-c', 'echo oops; exit 3')]),
      ]);
      const failed = refs[5];
      const before = fake.requests().length;
      const result = await tes.status(site, refs);
      // One BASIC page for all six, one FULL page for the five COMPLETE, and the one EXECUTOR_ERROR alone.
      expect(callsSince(fake, before)).toEqual([
        '/ga4gh/tes/v1/tasks?tag_key=constellation.task&view=BASIC&page_size=500',
        '/ga4gh/tes/v1/tasks?tag_key=constellation.task&view=FULL&page_size=50&state=COMPLETE',
        `/ga4gh/tes/v1/tasks/${failed}?view=FULL`,
      ]);
      for (const [i, ref] of refs.entries()) {
        const listed = result.get(ref) as RemoteStatus;
        expect(listed).toEqual(await statusOf(tes, site, ref));
        expect(listed.streamsOmitted).toBeUndefined();
        expect(listed.executorLogs[0].stdout).toBe(i < 5 ? `hello ${i + 1}\n` : 'oops\n');
      }
    });

    it('reads ended tasks alone when the site refuses the FULL list, with the same statuses', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const refs = await endedAt(
        fake,
        tes,
        site,
        [1, 2, 3].map((i) => jobOf([exec('echo', `${i}`)])),
      );
      const expected = new Map<string, RemoteStatus>();
      for (const ref of refs) expected.set(ref, await statusOf(tes, site, ref));
      fake.failNext(400, 1, { path: '/tasks', query: 'view=FULL' });
      const before = fake.requests().length;
      const result = await tes.status(site, refs);
      const calls = callsSince(fake, before);
      expect(calls.slice(0, 2)).toEqual([
        '/ga4gh/tes/v1/tasks?tag_key=constellation.task&view=BASIC&page_size=500',
        '/ga4gh/tes/v1/tasks?tag_key=constellation.task&view=FULL&page_size=50&state=COMPLETE',
      ]);
      expect(calls.slice(2).sort()).toEqual(refs.map((ref) => `/ga4gh/tes/v1/tasks/${ref}?view=FULL`).sort());
      expect(result).toEqual(expected);
    });

    it('reads fewer FULL pages than ended tasks, and the ones they did not reach alone', async () => {
      const fake = await fakeSite();
      const tes = adapter({ fullPageSize: 1 });
      const site = siteAt(fake.url);
      const refs = await endedAt(
        fake,
        tes,
        site,
        [1, 2, 3].map((i) => jobOf([exec('echo', `${i}`)])),
      );
      const before = fake.requests().length;
      const result = await tes.status(site, refs);
      const calls = callsSince(fake, before);
      // Listed newest first, one a page: two pages reach the two newest; the oldest is read alone.
      expect(calls.filter((c) => c.includes('view=FULL&page_size=1'))).toHaveLength(2);
      expect(calls.at(-1)).toBe(`/ga4gh/tes/v1/tasks/${refs[0]}?view=FULL`);
      expect(calls).toHaveLength(4);
      expect(refs.map((ref) => (result.get(ref) as RemoteStatus).executorLogs[0].stdout)).toEqual([
        '1\n',
        '2\n',
        '3\n',
      ]);
    });

    it('asks task by task when the site will not list (a 400 to the tag filter)', async () => {
      const fake = await fakeSite({ hold: true });
      const tes = adapter();
      const site = siteAt(fake.url);
      const refs = [await submitTrue(tes, site), await submitTrue(tes, site)];
      fake.failNext(400, 1, { method: 'GET', path: '/tasks' });
      const before = fake.requests().length;
      const result = await tes.status(site, refs);
      expect(refs.map((ref) => (result.get(ref) as RemoteStatus).state)).toEqual(['QUEUED', 'QUEUED']);
      expect(
        fake
          .requests()
          .slice(before)
          .map((c) => c.path)
          .sort(),
      ).toEqual(['/ga4gh/tes/v1/tasks', ...refs.map((ref) => `/ga4gh/tes/v1/tasks/${ref}`)].sort());
    });

    it('keeps the answers it got when only some refs fail with 5xx', async () => {
      const fake = await fakeSite();
      const tes = adapter();
      const site = siteAt(fake.url);
      const ok = await tes.submit(site, jobOf());
      const flaky = await tes.submit(site, jobOf());
      // Finished tasks are read alone (FULL view): one of those reads fails.
      await waitFor('both tasks to complete', () =>
        [ok, flaky].every((id) => fake.task(id)?.state === 'COMPLETE'),
      );
      fake.failNext(503, 1, { path: flaky });
      const result = await tes.status(site, [ok, flaky]);
      expect(result.get(ok)).not.toBeInstanceOf(AdapterError);
      expect(result.get(flaky)).toMatchObject({
        kind: 'unreachable',
        message: expect.stringMatching(/HTTP 503$/),
      });
    });

    it.each([
      { name: 'malformed JSON', body: '{"id": "X", "state": ', want: /response is not JSON/ },
      {
        name: 'an unknown state',
        body: '{"id":"X","state":"EXPLODED"}',
        want: /state "EXPLODED" is not a TES state/,
      },
      {
        name: 'a non-integer exit code',
        body: '{"id":"X","state":"RUNNING","logs":[{"logs":[{"exit_code":"zero"}],"outputs":[]}]}',
        want: /logs\[0\]\.logs\[0\]\.exit_code must be an integer/,
      },
      {
        name: 'logs that are not a list',
        body: '{"id":"X","state":"RUNNING","logs":{}}',
        want: /logs must be an array/,
      },
      { name: 'another task', body: '{"id":"Y","state":"RUNNING"}', want: /another task id/ },
    ])('maps $name to a protocol error for that ref', async ({ body, want }) => {
      const fake = await fakeSite();
      fake.failNext(200, 1, { path: '/tasks/X', body });
      const result = await adapter().status(siteAt(fake.apiUrl), ['X']);
      const outcome = result.get('X');
      expect(outcome).toBeInstanceOf(AdapterError);
      expect(outcome).toMatchObject({ kind: 'protocol_error', message: expect.stringMatching(want) });
    });

    it('reads protobuf-style answers: a missing state is UNKNOWN, a running executor without exit code is left out', async () => {
      const fake = await fakeSite();
      const body = {
        id: 'X',
        logs: [
          { logs: [], outputs: [], system_logs: ['first try failed'] },
          {
            logs: [
              { end_time: '2024-01-01T00:00:01Z' },
              { start_time: '2024-01-01T00:00:02Z', stdout: 'partial' },
            ],
            outputs: [
              { url: 's3://b/o', path: '/o', size_bytes: 1024 },
              { url: 's3://b/e', path: '/e' },
            ],
            system_logs: Array.from({ length: 60 }, (_, i) => `line ${i} ${'x'.repeat(i === 59 ? 5000 : 0)}`),
          },
        ],
      };
      fake.failNext(200, 1, { path: '/tasks/X', body: JSON.stringify(body) });
      const status = await statusOf(adapter(), siteAt(fake.apiUrl), 'X');
      expect(status.state).toBe('UNKNOWN');
      expect(status.executorLogs).toEqual([{ exit_code: 0, end_time: '2024-01-01T00:00:01Z' }]);
      expect(status.outputs).toEqual([
        { url: 's3://b/o', path: '/o', size_bytes: '1024' },
        { url: 's3://b/e', path: '/e', size_bytes: '0' },
      ]);
      expect(status.systemLogs).toHaveLength(50);
      expect(status.systemLogs[0]).toBe('line 10 ');
      expect(Buffer.byteLength(status.systemLogs[49])).toBe(4096);
    });

    it('passes RFC 3339 times on, rewrites other date forms in UTC, and drops what is no time', async () => {
      const fake = await fakeSite();
      const body = {
        id: 'X',
        state: 'COMPLETE',
        logs: [
          {
            start_time: 'Mon, 01 Jan 2024 00:00:01 GMT',
            end_time: 'yesterday',
            logs: [
              { exit_code: 0, start_time: '2024-01-01T01:00:01+01:00', end_time: '2024-01-01T00:00:05Z' },
            ],
          },
        ],
      };
      fake.failNext(200, 1, { path: '/tasks/X', body: JSON.stringify(body) });
      const status = await statusOf(adapter(), siteAt(fake.apiUrl), 'X');
      expect(status.startTime).toBe('2024-01-01T00:00:01.000Z');
      expect(status.endTime).toBeUndefined();
      expect(status.executorLogs).toEqual([
        { exit_code: 0, start_time: '2024-01-01T01:00:01+01:00', end_time: '2024-01-01T00:00:05Z' },
      ]);
    });

    it('answers an empty list of refs without asking the site', async () => {
      const fake = await fakeSite();
      expect((await adapter().status(siteAt(fake.url), [])).size).toBe(0);
      expect(fake.requests()).toEqual([]);
    });
  });

  describe('cancel and cleanup', () => {
    it('cancels a running task, and counts a task the site no longer knows as cancelled', async () => {
      const { fake, tes, site, ref } = await submittedTo({}, jobOf([exec('sleep', '100')]));
      await waitForState(tes, site, ref, ['RUNNING']);
      await tes.cancel(site, ref);
      expect(fake.requests().at(-1)).toMatchObject({
        method: 'POST',
        path: `/ga4gh/tes/v1/tasks/${ref}:cancel`,
      });
      expect((await statusOf(tes, site, ref)).state).toBe('CANCELED');

      fake.forget(ref);
      await expect(tes.cancel(site, ref)).resolves.toBeUndefined();
      fake.mode = 'http500';
      expect(await rejection(tes.cancel(site, ref))).toMatchObject({ kind: 'unreachable' });
    });

    it('has nothing to clean up', async () => {
      const fake = await fakeSite();
      await adapter().cleanup(siteAt(fake.url), 'anything');
      expect(fake.requests()).toEqual([]);
    });
  });
});
