import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  TES_STATES,
  type TaskDocument,
  type TesExecutor,
  type TesExecutorLog,
  type TesInput,
  type TesOutput,
  type TesState,
  type TesTaskLog,
} from '@constellation/tes';
import { startLoopbackServer } from './loopback-server';
import { interpretCommand } from './simulated-shell';

/**
 * A TES 1.1 server on loopback standing in for a remote site (Funnel, TESK) in tests. It speaks the spec's
 * API faithfully (../shared/reference/tes-1.1.0.openapi.yaml) and simulates execution: nothing is ever run.
 * With `transfers` it moves files as Funnel's HTTP storage does: http(s) inputs are downloaded before the
 * executors (a failure is SYSTEM_ERROR) and FILE outputs are PUT to their http(s) URLs after them.
 * Executors go through a tiny interpreter (echo, sleep, true, false, cat, sh/bash -c "exit N"); every other
 * command exits 127 as it would in a container without it.
 */

export type FakeTesMode = 'ok' | 'http500' | 'unauthorized' | 'reject-submissions';

export interface FakeTesSiteOptions {
  /** Where the API lives; `/ga4gh/tes/v1` by default (Funnel also answers under `/v1`). */
  basePath?: string;
  /** service-info `storage`. */
  storage?: string[];
  /** service-info `tesResources_backend_parameters`: the keys this site supports. */
  backendParameters?: string[];
  /** Behave like a TES 1.0 server, which knows no tag filters and lists every task. */
  ignoreTagFilters?: boolean;
  /** Every request must carry `Authorization: Bearer <requireToken>`, else 401. */
  requireToken?: string;
  /** Keep new tasks QUEUED until release(). */
  hold?: boolean;
  /** Lists at most this many tasks a page, whatever `page_size` asks, as a server with its own cap does. */
  maxPageSize?: number;
  /** Time between state changes, and the least time an executor takes. Default 50 ms. */
  stepDelayMs?: number;
  /** Scales `sleep N`: N seconds take N × 1000 × timeScale ms. Default 0.01. */
  timeScale?: number;
  version?: string;
  /** Download http(s) inputs and upload FILE outputs with PUT, as a site with HTTP storage does. */
  transfers?: boolean;
  /** With transfers: every upload is refused (403), as by an outbound proxy that allows only GET. */
  refuseUploads?: boolean;
}

export interface FakeTesRequest {
  method: string;
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  authorization?: string;
  /** The parsed JSON body, when one came. */
  body?: unknown;
}

/** A stored task as the FULL view shows it: the submitted fields as they came, plus what the server adds. */
export interface FakeTesTask extends Partial<TaskDocument> {
  id: string;
  state: TesState;
  creation_time: string;
  executors: TesExecutor[];
  logs?: TesTaskLog[];
}

export interface FakeTesSite {
  /** `http://127.0.0.1:PORT`, without the API path. */
  readonly url: string;
  /** `url` + basePath. */
  readonly apiUrl: string;
  readonly port: number;
  mode: FakeTesMode;
  close(): Promise<void>;
  /** Refuses connections from now on; tasks keep running, as on a site whose API server died. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  tasks(): FakeTesTask[];
  task(id: string): FakeTesTask | undefined;
  requests(): FakeTesRequest[];
  /**
   * Answers the next `times` requests with this status and raw body (default a JSON message), optionally
   * only those with this method, whose path contains `path` and whose query string contains `query`.
   */
  failNext(
    status: number,
    times?: number,
    options?: { body?: string; method?: string; path?: string; query?: string },
  ): void;
  /** Forgets the failures failNext injected that have not happened yet. */
  clearFailures(): void;
  /** Delays every answer by this long (0: none). */
  slow(ms: number): void;
  /**
   * Takes this long over each create (0: none), as a loaded site does: the task exists only at the end of
   * that time, when the answer goes out, whether or not the client is still waiting for it.
   */
  slowCreates(ms: number): void;
  /** Loses a task: 404 from now on. */
  forget(id: string): void;
  hold(): void;
  /** Lets held tasks run, and new ones from now on. */
  release(): void;
  preempt(id: string): void;
}

const FINAL_STATES: readonly TesState[] = [
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
];
const MAX_BODY_BYTES = 8 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Running {
  abort: AbortController;
  /** Resolves the wait of a held task. */
  release?: () => void;
  /** Ends the task's current pause at once; set while it pauses. */
  wake?: () => void;
}

/** Stops a task's run: its pause ends now, and its transfers are aborted. */
function halt(rt: Running | undefined): void {
  rt?.abort.abort();
  rt?.wake?.();
}

/**
 * Waits `ms`, or throws when the task is halted first, as an aborted timers/promises delay does. A plain
 * timer: that delay with the abort signal added a listener to the signal and removed it at each of a
 * task's three steps, about four times the cost of the timer itself.
 */
function pause(ms: number, rt: Running): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const signal = rt.abort.signal;
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      rt.wake = undefined;
      resolve();
    }, ms);
    rt.wake = () => {
      clearTimeout(timer);
      rt.wake = undefined;
      reject(signal.reason as Error);
    };
  });
}

interface Injected {
  status: number;
  times: number;
  body?: string;
  method?: string;
  path?: string;
  query?: string;
}

export async function startFakeTesSite(options: FakeTesSiteOptions = {}): Promise<FakeTesSite> {
  const basePath = (options.basePath ?? '/ga4gh/tes/v1').replace(/\/+$/, '');
  const stepDelayMs = options.stepDelayMs ?? 50;
  const timeScale = options.timeScale ?? 0.01;
  const supportedParameters = options.backendParameters ?? ['VmSize'];
  const startedAt = new Date().toISOString();
  const store = new Map<string, { seq: number; task: FakeTesTask }>();
  const running = new Map<string, Running>();
  const log: FakeTesRequest[] = [];
  const injected: Injected[] = [];
  let mode: FakeTesMode = 'ok';
  let holding = options.hold ?? false;
  let responseDelayMs = 0;
  let createDelayMs = 0;
  let seq = 0;

  const serviceInfo = () => ({
    id: 'org.example.fake-tes',
    name: 'Fake TES',
    type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
    description: 'A simulated GA4GH TES 1.1 site for Constellation tests',
    organization: { name: 'Constellation tests', url: 'https://example.org' },
    contactUrl: 'mailto:tests@example.org',
    documentationUrl: 'https://example.org/fake-tes',
    createdAt: startedAt,
    updatedAt: startedAt,
    environment: 'test',
    version: options.version ?? '1.1.0-fake',
    storage: options.storage ?? [],
    tesResources_backend_parameters: supportedParameters,
  });

  // --- execution -----------------------------------------------------------------------------------------

  const stop = (id: string, state: TesState, reason: string) => {
    const entry = store.get(id);
    if (!entry || FINAL_STATES.includes(entry.task.state)) return;
    entry.task.state = state;
    const last = entry.task.logs?.at(-1);
    if (last) {
      last.end_time = new Date().toISOString();
      last.system_logs = [...(last.system_logs ?? []), reason];
    }
    halt(running.get(id));
  };

  const run = async (task: FakeTesTask, signal: AbortSignal, rt: Running) => {
    if (holding) {
      await new Promise<void>((resolve) => {
        rt.release = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (signal.aborted) return;
    await pause(stepDelayMs, rt);
    const taskLog: TesTaskLog = {
      logs: [],
      metadata: { host: 'fake-worker-1' },
      start_time: new Date().toISOString(),
      outputs: [],
      system_logs: ['fake-worker-1 picked the task up'],
    };
    task.logs = [taskLog];
    task.state = 'INITIALIZING';
    const unsupported = Object.keys(task.resources?.backend_parameters ?? {}).filter(
      (key) => !supportedParameters.some((s) => s.toLowerCase() === key.toLowerCase()),
    );
    if (unsupported.length > 0) {
      // TES 1.1: unsupported keys are neither stored nor returned; strict tasks fail.
      taskLog.system_logs?.push(`unsupported backend_parameters ignored: ${unsupported.join(', ')}`);
      for (const key of unsupported) delete task.resources?.backend_parameters?.[key];
      if (task.resources?.backend_parameters_strict) {
        task.state = 'SYSTEM_ERROR';
        taskLog.end_time = new Date().toISOString();
        return;
      }
    }
    const files = new Map<string, string>();
    for (const input of task.inputs ?? [])
      if (input.content !== undefined) files.set(input.path, input.content);
    if (options.transfers) {
      const failed = await download(task.inputs ?? [], files, signal);
      if (failed) {
        taskLog.system_logs?.push(failed);
        taskLog.end_time = new Date().toISOString();
        task.state = 'SYSTEM_ERROR';
        return;
      }
    }
    await pause(stepDelayMs, rt);
    task.state = 'RUNNING';
    let failed = false;
    for (const [i, executor] of task.executors.entries()) {
      const start_time = new Date().toISOString();
      const outcome = interpretCommand(executor.command, {
        read: (path) => files.get(path),
        write: (path, content) => files.set(path, content),
      });
      await pause(Math.max(stepDelayMs, outcome.sleepMs * timeScale), rt);
      if (executor.stdout) files.set(executor.stdout, outcome.stdout);
      if (executor.stderr) files.set(executor.stderr, outcome.stderr);
      const entry: TesExecutorLog = {
        start_time,
        end_time: new Date().toISOString(),
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        exit_code: outcome.exitCode,
      };
      taskLog.logs.push(entry);
      if (outcome.exitCode !== 0 && !executor.ignore_error) {
        taskLog.system_logs?.push(`executor ${i} exited with code ${outcome.exitCode}`);
        failed = true;
        break;
      }
    }
    if (!failed && options.transfers) {
      const problem = await upload(task.outputs ?? [], files, options.refuseUploads === true, signal);
      if (problem) {
        taskLog.system_logs?.push(problem);
        taskLog.end_time = new Date().toISOString();
        task.state = 'SYSTEM_ERROR';
        return;
      }
    }
    if (!failed) {
      taskLog.outputs = (task.outputs ?? []).map((o) => ({
        url: o.url,
        path: o.path,
        size_bytes: String(Buffer.byteLength(files.get(o.path) ?? '', 'utf8')),
      }));
    }
    taskLog.end_time = new Date().toISOString();
    task.state = failed ? 'EXECUTOR_ERROR' : 'COMPLETE';
  };

  const launch = (task: FakeTesTask) => {
    const rt: Running = { abort: new AbortController() };
    running.set(task.id, rt);
    run(task, rt.abort.signal, rt)
      .catch((err: unknown) => {
        // An abort comes from cancel, preempt, forget or close, which set the final state themselves.
        if (rt.abort.signal.aborted) return;
        stop(task.id, 'SYSTEM_ERROR', `fake site bug: ${String(err)}`);
      })
      .finally(() => running.delete(task.id));
  };

  // --- API -----------------------------------------------------------------------------------------------

  const createTask = (body: unknown): { id: string } => {
    const task = validateTask(body);
    const id = newTaskId();
    const stored: FakeTesTask = {
      id,
      state: 'QUEUED',
      creation_time: new Date().toISOString(),
      ...task,
    };
    store.set(id, { seq: ++seq, task: stored });
    launch(stored);
    return { id };
  };

  const listTasks = (params: URLSearchParams) => {
    const view = viewOf(params);
    const pageSize = params.has('page_size') ? Number(params.get('page_size')) : 256;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize >= 2048) {
      throw new HttpError(400, 'page_size must be an integer from 1 to 2047');
    }
    const token = params.get('page_token');
    const offset = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'invalid page_token');
    const state = params.get('state');
    if (state !== null && !TES_STATES.includes(state as TesState)) throw new HttpError(400, 'invalid state');
    const prefix = params.get('name_prefix');
    const keys = params.getAll('tag_key');
    const values = params.getAll('tag_value');
    // Newest first. The store only ever gains tasks at its end (created in seq order), so its reverse is
    // the seq order without sorting the whole store for every page.
    const matching = [...store.values()]
      .reverse()
      .map((e) => e.task)
      .filter((t) => prefix === null || (t.name ?? '').startsWith(prefix))
      .filter((t) => state === null || t.state === state)
      .filter((t) => options.ignoreTagFilters || matchesTags(t.tags ?? {}, keys, values));
    const served = Math.min(pageSize, options.maxPageSize ?? pageSize);
    const page = matching.slice(offset, offset + served);
    const next = offset + served < matching.length ? { next_page_token: encodeOffset(offset + served) } : {};
    return { tasks: page.map((t) => render(t, view)), ...next };
  };

  const findTask = (id: string): FakeTesTask => {
    const entry = store.get(id);
    if (!entry) throw new HttpError(404, 'task not found');
    return entry.task;
  };

  const route = (method: string, url: URL, body: unknown): unknown => {
    if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`))
      throw new HttpError(404, 'not found');
    const rest = url.pathname.slice(basePath.length);
    if (rest === '/service-info') {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed');
      return serviceInfo();
    }
    if (rest === '/tasks') {
      if (method === 'GET') return listTasks(url.searchParams);
      if (method !== 'POST') throw new HttpError(405, 'method not allowed');
      if (mode === 'reject-submissions')
        throw new HttpError(400, 'this site does not accept new tasks right now');
      return createTask(body);
    }
    const match = /^\/tasks\/([^/]+)$/.exec(rest);
    if (!match) throw new HttpError(404, 'not found');
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      throw new HttpError(400, 'invalid task id');
    }
    if (id.endsWith(':cancel')) {
      if (method !== 'POST') throw new HttpError(405, 'method not allowed');
      const task = findTask(id.slice(0, -':cancel'.length));
      stop(task.id, 'CANCELED', 'canceled by the user');
      return {};
    }
    if (method !== 'GET') throw new HttpError(405, 'method not allowed');
    return render(findTask(id), viewOf(url.searchParams));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const entry: FakeTesRequest = { method, path: url.pathname, query: url.search.replace(/^\?/, '') };
    if (req.headers.authorization !== undefined) entry.authorization = req.headers.authorization;
    log.push(entry);
    const reply = (status: number, payload: unknown, raw?: string) => {
      const text = raw ?? JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const text = await readBody(req);
      if (text.length > 0) {
        try {
          entry.body = JSON.parse(text) as unknown;
        } catch {
          throw new HttpError(400, 'request body is not JSON');
        }
      }
      if (responseDelayMs > 0) await delay(responseDelayMs);
      if (createDelayMs > 0 && method === 'POST' && url.pathname === `${basePath}/tasks`) {
        await delay(createDelayMs);
      }
      const failure = injected.find(
        (f) =>
          f.times > 0 &&
          (f.method === undefined || f.method === method) &&
          (f.path === undefined || url.pathname.includes(f.path)) &&
          (f.query === undefined || url.search.includes(f.query)),
      );
      if (failure) {
        failure.times--;
        return reply(failure.status, { message: 'injected failure' }, failure.body);
      }
      if (mode === 'http500') throw new HttpError(500, 'internal server error');
      const authorized =
        options.requireToken === undefined || req.headers.authorization === `Bearer ${options.requireToken}`;
      if (mode === 'unauthorized' || !authorized) throw new HttpError(401, 'unauthorized');
      reply(200, route(method, url, entry.body));
    } catch (err) {
      if (err instanceof HttpError) reply(err.status, { message: err.message });
      else reply(500, { message: 'internal server error' });
    }
  };

  const http = await startLoopbackServer((req, res) => void handle(req, res));

  return {
    get url() {
      return `http://127.0.0.1:${http.port}`;
    },
    get apiUrl() {
      return `http://127.0.0.1:${http.port}${basePath}`;
    },
    get port() {
      return http.port;
    },
    get mode() {
      return mode;
    },
    set mode(value: FakeTesMode) {
      mode = value;
    },
    close: async () => {
      for (const rt of running.values()) halt(rt);
      await http.shut();
    },
    down: () => http.shut(),
    up: () => http.listen(),
    tasks: () => [...store.values()].sort((a, b) => a.seq - b.seq).map((e) => structuredClone(e.task)),
    task: (id) => {
      const entry = store.get(id);
      return entry ? structuredClone(entry.task) : undefined;
    },
    requests: () => log.map((r) => ({ ...r })),
    failNext: (status, times = 1, opts = {}) => {
      injected.push({ status, times, ...opts });
    },
    clearFailures: () => {
      injected.length = 0;
    },
    slow: (ms) => {
      responseDelayMs = ms;
    },
    slowCreates: (ms) => {
      createDelayMs = ms;
    },
    forget: (id) => {
      halt(running.get(id));
      store.delete(id);
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const rt of running.values()) rt.release?.();
    },
    preempt: (id) => stop(id, 'PREEMPTED', 'the worker was reclaimed (preempted)'),
  };
}

// --- pure helpers ------------------------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A task id: 20 random hex digits, as before, taken from random bytes drawn 4 KB at a time (a draw from the
 * system's generator per create was a visible share of the fake's CPU in the dispatch bench).
 */
const ID_BYTES = 10;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;
function newTaskId(): string {
  if (idPoolAt + ID_BYTES > idPool.length) {
    idPool = randomBytes(4096);
    idPoolAt = 0;
  }
  idPoolAt += ID_BYTES;
  return idPool.toString('hex', idPoolAt - ID_BYTES, idPoolAt);
}

function encodeOffset(offset: number): string {
  return Buffer.from(String(offset), 'utf8').toString('base64url');
}

/** TES 1.1 ListTasks: tag_key and tag_value zip by position; an empty or missing value matches any value. */
function matchesTags(tags: Record<string, string>, keys: string[], values: string[]): boolean {
  return keys.every((key, i) => {
    if (!Object.prototype.hasOwnProperty.call(tags, key)) return false;
    const want = values[i] ?? '';
    return want === '' || tags[key] === want;
  });
}

type View = 'MINIMAL' | 'BASIC' | 'FULL';

function viewOf(params: URLSearchParams): View {
  const view = params.get('view') ?? 'MINIMAL';
  if (view !== 'MINIMAL' && view !== 'BASIC' && view !== 'FULL') throw new HttpError(400, 'invalid view');
  return view;
}

/**
 * The spec's views: MINIMAL is id and state; BASIC leaves out stdout, stderr, input content, system logs.
 * The answer is serialised at once (reply), so FULL is the stored task itself and BASIC copies only what
 * it leaves out: a deep copy per task listed was most of a list page's cost to the fake.
 */
function render(task: FakeTesTask, view: View): unknown {
  if (view === 'MINIMAL') return { id: task.id, state: task.state };
  if (view === 'FULL') return task;
  return {
    ...task,
    inputs: task.inputs?.map(({ content: _content, ...input }) => input),
    logs: task.logs?.map(({ system_logs: _systemLogs, ...taskLog }) => ({
      ...taskLog,
      logs: taskLog.logs.map(({ stdout: _stdout, stderr: _stderr, ...entry }) => entry),
    })),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The checks a real server makes before accepting a task; read-only fields in the request are ignored. */
function validateTask(body: unknown): Omit<FakeTesTask, 'id' | 'state' | 'creation_time'> {
  if (!isObject(body)) throw new HttpError(400, 'the request body must be a task object');
  const executors = body.executors;
  if (!Array.isArray(executors) || executors.length === 0) {
    throw new HttpError(400, 'executors: at least one executor is required');
  }
  executors.forEach((e, i) => {
    if (!isObject(e)) throw new HttpError(400, `executors[${i}] must be an object`);
    if (typeof e.image !== 'string' || e.image === '')
      throw new HttpError(400, `executors[${i}].image is required`);
    if (!isStringArray(e.command) || e.command.length === 0) {
      throw new HttpError(400, `executors[${i}].command is required`);
    }
  });
  const inputs = body.inputs;
  if (inputs !== undefined) {
    if (!Array.isArray(inputs)) throw new HttpError(400, 'inputs must be an array');
    inputs.forEach((input, i) => {
      if (!isObject(input) || typeof input.path !== 'string' || !input.path.startsWith('/')) {
        throw new HttpError(400, `inputs[${i}].path must be an absolute path`);
      }
      if (typeof input.url !== 'string' && typeof input.content !== 'string') {
        throw new HttpError(400, `inputs[${i}] needs a url or content`);
      }
    });
  }
  const outputs = body.outputs;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw new HttpError(400, 'outputs must be an array');
    outputs.forEach((output, i) => {
      if (!isObject(output) || typeof output.url !== 'string' || typeof output.path !== 'string') {
        throw new HttpError(400, `outputs[${i}] needs a url and a path`);
      }
    });
  }
  if (
    body.tags !== undefined &&
    !(isObject(body.tags) && Object.values(body.tags).every((v) => typeof v === 'string'))
  ) {
    throw new HttpError(400, 'tags must map strings to strings');
  }
  if (body.resources !== undefined && !isObject(body.resources))
    throw new HttpError(400, 'resources must be an object');
  if (body.volumes !== undefined && !isStringArray(body.volumes))
    throw new HttpError(400, 'volumes must be strings');
  const task: Omit<FakeTesTask, 'id' | 'state' | 'creation_time'> = { executors: structuredClone(executors) };
  for (const key of ['name', 'description', 'inputs', 'outputs', 'resources', 'volumes', 'tags'] as const) {
    if (body[key] !== undefined) (task as Record<string, unknown>)[key] = structuredClone(body[key]);
  }
  // The spec has the server fill in the file type the client left out; FILE is its default.
  for (const file of [...(task.inputs ?? []), ...(task.outputs ?? [])]) file.type ??= 'FILE';
  return task;
}

const isHttp = (url: string | undefined): url is string => /^https?:\/\//i.test(url ?? '');

/** Fetches the http(s) inputs into the task's files; answers the system log line of the first failure. */
async function download(
  inputs: readonly TesInput[],
  files: Map<string, string>,
  signal: AbortSignal,
): Promise<string | null> {
  for (const input of inputs) {
    if (input.content !== undefined || !isHttp(input.url)) continue;
    try {
      const res = await fetch(input.url, { signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]) });
      if (!res.ok) return `failed to download input ${input.path} from ${input.url}: HTTP ${res.status}`;
      files.set(input.path, await res.text());
    } catch (err) {
      if (signal.aborted) throw err;
      return `failed to download input ${input.path} from ${input.url}: ${String(err)}`;
    }
  }
  return null;
}

/** PUTs the FILE outputs to their http(s) URLs; answers the system log line of the first failure. */
async function upload(
  outputs: readonly TesOutput[],
  files: Map<string, string>,
  refuse: boolean,
  signal: AbortSignal,
): Promise<string | null> {
  for (const output of outputs) {
    if (output.type === 'DIRECTORY' || !isHttp(output.url)) continue;
    const content = files.get(output.path);
    if (content === undefined) return `output ${output.path} was not found after the executors`;
    if (refuse)
      return `failed to upload output ${output.path} to ${output.url}: HTTP 403 from the outbound proxy`;
    try {
      const res = await fetch(output.url, {
        method: 'PUT',
        body: content,
        headers: { 'content-type': 'application/octet-stream' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
      });
      if (!res.ok) return `failed to upload output ${output.path} to ${output.url}: HTTP ${res.status}`;
    } catch (err) {
      if (signal.aborted) throw err;
      return `failed to upload output ${output.path} to ${output.url}: ${String(err)}`;
    }
  }
  return null;
}
