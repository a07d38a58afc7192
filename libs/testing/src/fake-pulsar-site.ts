import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startLoopbackServer } from './loopback-server';
import { Gate } from './gate';
import { interpretCommand } from './simulated-shell';

/**
 * A Pulsar 0.15 server in REST mode on loopback (../shared/reference/pulsar-api.md, galaxyproject/pulsar
 * pulsar/web/routes.py), with its quirks: every parameter in the query string, JSON answered as text/html,
 * 401 for a bad token, 500 for a missing file or an unknown manager, `lost` as HTTP 200, `complete` as a
 * string, optional `assign_ids: uuid`, routes also under `/managers/{name}`.
 *
 * Remote-staging inputs are really fetched from their URLs, uploads really stored; then a simulator plays the
 * job. The default one reads the plan Constellation uploads beside its script and writes the same record files
 * the script would, through a tiny command interpreter (echo, cat, true, false, sleep, sh -c "exit N" and
 * `echo … > path`): anything else exits 127, as in a bare container. `runJobScript` (job-script-runner.ts)
 * instead runs the job script itself in a real job directory under `stagingRoot`.
 */

export type FakePulsarStatus =
  'preprocessing' | 'running' | 'postprocessing' | 'complete' | 'failed' | 'cancelled';

/** The folders of a Pulsar job directory, as Pulsar names them on disk. */
export type FakePulsarDir =
  'inputs' | 'tool_files' | 'configs' | 'working' | 'metadata' | 'outputs' | 'unstructured';

export interface FakePulsarJob {
  id: string;
  manager: string;
  status: FakePulsarStatus;
  launched: boolean;
  submits: number;
  commandLine?: string;
  /** The parsed `remote_staging` submit parameter. */
  remoteStaging?: unknown;
  returncode: number | null;
  jobStdout: string;
  jobStderr: string;
  /** `<dir>/<relative name>` → bytes. */
  files: Map<string, Buffer>;
}

/** Plays a launched job; answers the script's exit code. Write files with `put`. */
export type FakePulsarSimulator = (job: FakePulsarJob, ctx: SimulationContext) => Promise<number> | number;

export interface SimulationContext {
  signal: AbortSignal;
  put(dir: FakePulsarDir, name: string, data: string | Buffer): void;
  get(dir: FakePulsarDir, name: string): Buffer | undefined;
  timeScale: number;
}

export interface FakePulsarSiteOptions {
  /** Required `private_token`; none: any request is accepted. */
  token?: string;
  /** Manager names served under `/managers/{name}/` (the default manager always answers at the root). */
  managers?: string[];
  /** app.yml `assign_ids: uuid`: setup ignores the client's job id. */
  assignIds?: 'uuid';
  /** Pulsar's version; one older than 0.15.7 has no `/healthz` route (it came with galaxyproject/pulsar 02bbaaf). */
  version?: string;
  stagingRoot?: string;
  /** Time each job phase takes. Default 5 ms. */
  stepDelayMs?: number;
  /** Scales `sleep N`. Default 0.01. */
  timeScale?: number;
  simulate?: FakePulsarSimulator;
}

export interface FakePulsarRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  bodyBytes: number;
  contentLength?: string;
  /** When the request was handled (Date.now()): a test counting over a window needs no timer of its own. */
  at: number;
}

export interface FakePulsarSite {
  readonly url: string;
  readonly port: number;
  readonly stagingRoot: string;
  close(): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
  requests(): FakePulsarRequest[];
  /**
   * The next `times` matching requests get this status and body (default an HTML error page); `drop` closes the
   * connection without an answer instead, as Pulsar does after some uncaught exceptions.
   */
  failNext(
    status: number,
    times?: number,
    options?: {
      method?: string;
      path?: string;
      body?: string;
      drop?: boolean;
      /** Query parameters the request must carry, e.g. a file's `name`. */
      query?: Record<string, string>;
    },
  ): void;
  /** Loses a job: status `lost` from now on. */
  forget(jobId: string, manager?: string): void;
  job(jobId: string, manager?: string): FakePulsarJob | undefined;
  file(jobId: string, dir: FakePulsarDir, name: string, manager?: string): Buffer | undefined;
  /** Keeps launched jobs `running` until release(). */
  hold(): void;
  release(): void;
  /** Keeps submitted jobs in `preprocessing` (staging inputs) until releaseStaging(); Pulsar ignores a cancel then. */
  holdStaging(): void;
  releaseStaging(): void;
}

const DEFAULT_MANAGER = '_default_';
const TYPE_DIRS: Record<string, FakePulsarDir | 'job'> = {
  input: 'inputs',
  unstructured: 'unstructured',
  config: 'configs',
  tool: 'tool_files',
  jobdir: 'job',
  workdir: 'working',
  metadata: 'metadata',
  output: 'outputs',
  output_workdir: 'working',
  output_metadata: 'metadata',
  output_jobdir: 'job',
};
/** Types whose names may contain folders (pulsar/client/job_directory.py); the others keep only the base name. */
const NESTED_TYPES = new Set([
  'input',
  'unstructured',
  'output',
  'output_workdir',
  'metadata',
  'output_metadata',
  'tool',
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Injected {
  status: number;
  times: number;
  method?: string;
  path?: string;
  body?: string;
  drop?: boolean;
  query?: Record<string, string>;
}

/** Whether a Pulsar of this version serves `GET /healthz` (added in 0.15.7). */
export function pulsarHasHealthz(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((part) => parseInt(part, 10) || 0);
  return major > 0 || minor > 15 || (minor === 15 && patch >= 7);
}

/**
 * What WebOb's HTTPNotFound sends to a client that accepts HTML (Pulsar's router answers every unknown route
 * with it, before any token check).
 */
const WEBOB_NOT_FOUND =
  '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n' +
  '  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>';

/** The names a fake job holds below one of its folders. */
export function fakeJobContents(job: FakePulsarJob, dir: FakePulsarDir): string[] {
  return [...job.files.keys()].filter((k) => k.startsWith(`${dir}/`)).map((k) => k.slice(dir.length + 1));
}

/**
 * Pulsar's status of a job (manager_endpoint_util.full_status), as its REST API answers and its status
 * messages carry it: `lost` for an unknown or cleaned id (complete "true", returncode null), the short form
 * while the job is unfinished, the full one after.
 */
export function pulsarFullStatus(
  job: FakePulsarJob | undefined,
  id: string,
  jobDirectory: string,
  version = '0.15.16.dev0',
): Record<string, unknown> {
  if (!job) {
    // An unknown job is "done" to Pulsar, so it gets the long form, version included (empty parts left out).
    return {
      job_id: id,
      complete: 'true',
      status: 'lost',
      returncode: null,
      stdout: '',
      stderr: '',
      pulsar_version: version,
    };
  }
  if (!['complete', 'failed', 'cancelled'].includes(job.status)) {
    return { complete: 'false', status: job.status, job_id: job.id };
  }
  return {
    job_id: job.id,
    complete: 'true',
    status: job.status,
    returncode: job.returncode,
    stdout: '',
    stderr: '',
    job_stdout: job.jobStdout,
    job_stderr: job.jobStderr,
    working_directory: `${jobDirectory}/working`,
    metadata_directory: `${jobDirectory}/metadata`,
    job_directory: jobDirectory,
    working_directory_contents: fakeJobContents(job, 'working'),
    metadata_directory_contents: fakeJobContents(job, 'metadata'),
    outputs_directory_contents: fakeJobContents(job, 'outputs'),
    job_directory_contents: ['inputs', 'working', 'outputs', 'metadata', 'tool_files', 'configs'],
    system_properties: { separator: '/' },
    pulsar_version: version,
    realized_dynamic_file_sources: [],
  };
}

export async function startFakePulsarSite(options: FakePulsarSiteOptions = {}): Promise<FakePulsarSite> {
  const stagingRoot = options.stagingRoot ?? '/srv/pulsar/files/staging';
  const stepDelayMs = options.stepDelayMs ?? 5;
  const timeScale = options.timeScale ?? 0.01;
  const simulate = options.simulate ?? simulatePlan;
  const managers = new Set([DEFAULT_MANAGER, ...(options.managers ?? [])]);
  const jobs = new Map<string, FakePulsarJob>();
  const aborts = new Map<string, AbortController>();
  const log: FakePulsarRequest[] = [];
  const injected: Injected[] = [];
  // While a test holds them, jobs wait before they run (staging) and before they finish (held).
  const stagingGate = new Gate();
  const heldGate = new Gate();

  const key = (manager: string, id: string) => `${manager}\u0000${id}`;
  const jobDir = (id: string) => `${stagingRoot}/${id}`;

  // --- helpers ---------------------------------------------------------------------------------------------

  /** Mirrors get_mapped_file: nested names stay inside their folder (500 otherwise), others lose their folders. */
  const mapName = (type: string, name: string): { dir: FakePulsarDir | 'job'; rel: string } => {
    const dir = TYPE_DIRS[type];
    if (!dir) throw new HttpError(500, `Unknown file_type specified ${type}`);
    if (!NESTED_TYPES.has(type)) return { dir, rel: posix.basename(name) };
    const rel = posix.normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/') || rel === '.' || rel === '') {
      throw new HttpError(500, 'Attempt to read or write file outside an authorized directory.');
    }
    return { dir, rel };
  };

  const statusDict = (job: FakePulsarJob | undefined, id: string) =>
    pulsarFullStatus(job, id, job ? jobDir(job.id) : '', options.version);

  const setupDict = (id: string) => {
    const dir = jobDir(id);
    return {
      job_directory: dir,
      working_directory: `${dir}/working`,
      metadata_directory: `${dir}/metadata`,
      outputs_directory: `${dir}/outputs`,
      configs_directory: `${dir}/configs`,
      tools_directory: `${dir}/tool_files`,
      inputs_directory: `${dir}/inputs`,
      unstructured_files_directory: `${dir}/unstructured`,
      path_separator: '/',
      job_id: id,
      system_properties: { separator: '/' },
      pulsar_version: options.version ?? '0.15.16.dev0',
      preserve_galaxy_python_environment: null,
      tool_id: null,
      tool_version: null,
    };
  };

  // --- running a job ---------------------------------------------------------------------------------------

  const run = async (job: FakePulsarJob, jobKey: string) => {
    const abort = new AbortController();
    aborts.set(jobKey, abort);
    const signal = abort.signal;
    try {
      await delay(stepDelayMs, undefined, { signal });
      const staging = (job.remoteStaging ?? {}) as { setup?: unknown };
      for (const item of Array.isArray(staging.setup) ? staging.setup : []) {
        const fetched = await stageIn(item, signal);
        if (fetched instanceof Error) {
          job.jobStderr += `${fetched.message}\n`;
          job.status = 'failed';
          return;
        }
        job.files.set(`inputs/${fetched.name}`, fetched.data);
      }
      await stagingGate.pass(signal);
      if (signal.aborted) return;
      job.status = 'running';
      await heldGate.pass(signal);
      await delay(stepDelayMs, undefined, { signal });
      const ctx: SimulationContext = {
        signal,
        timeScale,
        put: (dir, name, data) =>
          job.files.set(`${dir}/${name}`, Buffer.isBuffer(data) ? data : Buffer.from(data)),
        get: (dir, name) => job.files.get(`${dir}/${name}`),
      };
      const code = await simulate(job, ctx);
      if (signal.aborted) return;
      job.status = 'postprocessing';
      await delay(stepDelayMs, undefined, { signal });
      job.returncode = code;
      job.status = 'complete';
    } catch (err) {
      if (!signal.aborted) {
        job.jobStderr += `${String(err)}\n`;
        job.status = 'failed';
      }
    } finally {
      aborts.delete(jobKey);
    }
  };

  /** One remote_staging.setup item, as Pulsar's preprocess and action_mapper.from_dict read it. */
  const stageIn = async (
    item: unknown,
    signal: AbortSignal,
  ): Promise<{ name: string; data: Buffer } | Error> => {
    const it = item as { name?: unknown; type?: unknown; action?: Record<string, unknown> } | null;
    const action = it?.action;
    if (typeof it?.name !== 'string' || it.type !== 'input' || !action)
      return new Error('malformed setup item');
    if (action.action_type !== 'remote_transfer')
      return new Error(`invalid action type ${String(action.action_type)}`);
    // from_dict pops `path` whenever `source` is present: a missing `path` is a KeyError in real Pulsar.
    if (!('source' in action) || !('path' in action)) return new Error(`KeyError: 'path' or 'source'`);
    if (typeof action.url !== 'string') return new Error('remote_transfer without url');
    try {
      const res = await fetch(action.url, { signal });
      if (!res.ok) return new Error(`fetching ${it.name} failed: HTTP ${res.status}`);
      return { name: mapName('input', it.name).rel, data: Buffer.from(await res.arrayBuffer()) };
    } catch (err) {
      return new Error(`fetching ${it.name} failed: ${String(err)}`);
    }
  };

  // --- HTTP ------------------------------------------------------------------------------------------------

  const send = (res: ServerResponse, status: number, body: string) => {
    // Pulsar answers JSON, OK and error pages alike as text/html.
    res.writeHead(status, {
      'content-type': 'text/html; charset=UTF-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? 'GET';
    log.push({
      method,
      path: url.pathname,
      query,
      bodyBytes: body.length,
      contentLength: req.headers['content-length'],
      at: Date.now(),
    });
    const inject = injected.find(
      (i) =>
        i.times > 0 &&
        (!i.method || i.method === method) &&
        (!i.path || url.pathname.includes(i.path)) &&
        (!i.query || Object.entries(i.query).every(([k, v]) => query[k] === v)),
    );
    if (inject) {
      inject.times--;
      if (inject.drop) {
        req.socket.destroy();
        return;
      }
      return send(res, inject.status, inject.body ?? `<html><body>${inject.status} Error</body></html>`);
    }

    let path = url.pathname;
    let manager = DEFAULT_MANAGER;
    const managed = /^\/managers\/([^/]+)(\/.*)$/.exec(path);
    if (managed) {
      manager = decodeURIComponent(managed[1]);
      path = managed[2];
    }
    const m = (re: RegExp) => re.exec(path);
    const jobRoute = m(/^\/jobs\/([^/]+)(\/status|\/submit|\/cancel|\/files|\/files\/path)?$/);
    const healthz = path === '/healthz' && pulsarHasHealthz(options.version ?? '0.15.16.dev0');
    const known = healthz || path === '/jobs' || jobRoute !== null;
    if (!known) return send(res, 404, WEBOB_NOT_FOUND);
    if (options.token !== undefined && query.private_token !== options.token) {
      return send(res, 401, '<html><body>401 Unauthorized</body></html>');
    }
    if (!managers.has(manager)) throw new HttpError(500, `KeyError: '${manager}'`);
    const json = (value: unknown) => send(res, 200, JSON.stringify(value));

    if (path === '/healthz' && method === 'GET') return json({ version: options.version ?? '0.15.16.dev0' });
    if (path === '/jobs' && method === 'POST') {
      if (!query.job_id) throw new HttpError(500, 'missing job_id');
      const id = options.assignIds === 'uuid' ? randomUUID() : query.job_id;
      if (id !== posix.basename(id)) throw new HttpError(500, 'AssertionError');
      const jobKey = key(manager, id);
      // Setting a job up twice is harmless: its folders already exist.
      if (!jobs.has(jobKey)) {
        jobs.set(jobKey, {
          id,
          manager,
          status: 'preprocessing',
          launched: false,
          submits: 0,
          returncode: null,
          jobStdout: '',
          jobStderr: '',
          files: new Map(),
        });
      }
      return json(setupDict(id));
    }
    if (!jobRoute) return send(res, 404, '<html><body>404 Not Found</body></html>');
    const id = decodeURIComponent(jobRoute[1]);
    const sub = jobRoute[2] ?? '';
    const jobKey = key(manager, id);
    const job = jobs.get(jobKey);

    if (sub === '/status' && method === 'GET') return json(statusDict(job, id));
    if (sub === '/submit' && method === 'POST') {
      // Observed: submitting a job that was never set up drops the connection.
      if (!job) {
        req.socket.destroy();
        return;
      }
      if (typeof query.command_line !== 'string') throw new HttpError(500, 'missing command_line');
      let staging: unknown = {};
      try {
        staging = JSON.parse(query.remote_staging ?? '{}');
      } catch {
        throw new HttpError(500, 'JSONDecodeError');
      }
      job.submits++;
      // Pulsar >= 0.15.15 ignores a setup it has already launched.
      if (job.launched) return send(res, 200, 'OK');
      job.launched = true;
      job.commandLine = query.command_line;
      job.remoteStaging = staging;
      void run(job, jobKey);
      return send(res, 200, 'OK');
    }
    if (sub === '/cancel' && method === 'PUT') {
      if (!job) throw new HttpError(500, 'No such file or directory');
      // pulsar/managers/unqueued.py: while the inputs are staged there is no pid to kill; the cancel is lost.
      if (!['complete', 'failed', 'preprocessing'].includes(job.status)) {
        aborts.get(jobKey)?.abort();
        job.status = 'cancelled';
        job.returncode = -9;
      }
      return send(res, 200, 'OK');
    }
    if (sub === '' && method === 'DELETE') {
      if (!job) throw new HttpError(500, 'No such file or directory');
      aborts.get(jobKey)?.abort();
      jobs.delete(jobKey);
      return send(res, 200, 'OK');
    }
    if (sub === '/files' && method === 'POST') {
      if (!job) throw new HttpError(500, 'No such file or directory');
      const { dir, rel } = mapName(query.type ?? '', query.name ?? '');
      job.files.set(`${dir}/${rel}`, body);
      return json({ path: `${jobDir(id)}/${dir === 'job' ? '' : `${dir}/`}${rel}` });
    }
    if (sub === '/files/path' && method === 'GET') {
      const { dir, rel } = mapName(query.type ?? '', query.name ?? '');
      return json({ path: `${jobDir(id)}/${dir === 'job' ? '' : `${dir}/`}${rel}` });
    }
    if (sub === '/files' && method === 'GET') {
      // Downloads serve the outputs folder unless the type names the working or metadata folder.
      const type = query.type ?? 'output';
      const dir = type === 'output_workdir' ? 'working' : type === 'output_metadata' ? 'metadata' : 'outputs';
      const { rel } = mapName('output', query.name ?? '');
      const data = job?.files.get(`${dir}/${rel}`);
      if (!data) throw new HttpError(500, 'No such file or directory');
      // As real Pulsar (a WSGI file iterator): chunked, with no Content-Length.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (data.length > 0) res.write(data.subarray(0, Math.ceil(data.length / 2)));
      return res.end(data.subarray(Math.ceil(data.length / 2)));
    }
    return send(res, 404, '<html><body>404 Not Found</body></html>');
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      route(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (res.headersSent) return res.destroy();
        const status = err instanceof HttpError ? err.status : 500;
        send(res, status, `<html><body>${status} Internal Server Error</body></html>`);
      });
    });
  };

  const http = await startLoopbackServer(handle);

  return {
    get url() {
      return `http://127.0.0.1:${http.port}`;
    },
    get port() {
      return http.port;
    },
    stagingRoot,
    close: async () => {
      for (const a of aborts.values()) a.abort();
      await http.shut();
    },
    down: () => http.shut(),
    up: () => http.listen(),
    requests: () => log.map((r) => ({ ...r, query: { ...r.query } })),
    failNext: (status, times = 1, opts = {}) => {
      injected.push({ status, times, ...opts });
    },
    forget: (id, manager = DEFAULT_MANAGER) => {
      aborts.get(key(manager, id))?.abort();
      jobs.delete(key(manager, id));
    },
    job: (id, manager = DEFAULT_MANAGER) => jobs.get(key(manager, id)),
    file: (id, dir, name, manager = DEFAULT_MANAGER) =>
      jobs.get(key(manager, id))?.files.get(`${dir}/${name}`),
    hold: () => heldGate.close(),
    release: () => heldGate.open(),
    holdStaging: () => stagingGate.close(),
    releaseStaging: () => stagingGate.open(),
  };
}

// --- the default simulator: Constellation's plan, played in memory ----------------------------------------

interface PlanShape {
  runtimes: string[];
  inputs: Array<{ name: string; path: string }>;
  outputs: Array<{ key: string; path: string; type: 'FILE' | 'DIRECTORY'; path_prefix?: string }>;
  executors: Array<{
    command: string[];
    stdin?: string;
    stdout?: string;
    stderr?: string;
    ignore_error?: boolean;
  }>;
}

const TAIL_BYTES = 64 * 1024;

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Writes what Constellation's job script writes (libs/adapters/src/pulsar/job-records.ts), independently
 * of the adapter's code, so the adapter's reader is tested against a second writer.
 */
export async function simulatePlan(job: FakePulsarJob, ctx: SimulationContext): Promise<number> {
  const planBytes = ctx.get('metadata', 'constellation-job.json');
  if (!planBytes) {
    job.jobStderr += 'bash: constellation-job.sh: No such file or directory\n';
    return 127;
  }
  const plan = JSON.parse(planBytes.toString('utf8')) as PlanShape;
  const lines: string[] = [];
  const rec = (...fields: Array<string | number>) => {
    lines.push(fields.join('\t'));
    ctx.put('outputs', '_constellation/log', `${lines.join('\n')}\n`);
  };
  const fs = new Map<string, Buffer>();
  rec('begin', stamp(), plan.executors.length);
  rec('runtime', plan.runtimes[0] ?? 'none');
  for (const input of plan.inputs) {
    const data = ctx.get('inputs', input.name);
    if (!data) {
      rec('system', `could not place input ${plan.inputs.indexOf(input)} at its path`);
      rec('end', stamp());
      return 90;
    }
    fs.set(input.path, data);
  }
  let code = 0;
  for (const [i, executor] of plan.executors.entries()) {
    const start = stamp();
    const stdin = executor.stdin ? (fs.get(executor.stdin)?.toString('utf8') ?? '') : '';
    const outcome = interpretCommand(
      executor.command,
      {
        read: (path) => fs.get(path)?.toString('utf8'),
        write: (path, content) => fs.set(path, Buffer.from(content)),
      },
      stdin,
    );
    if (outcome.sleepMs > 0) await delay(outcome.sleepMs * ctx.timeScale, undefined, { signal: ctx.signal });
    if (executor.stdout) fs.set(executor.stdout, Buffer.from(outcome.stdout));
    if (executor.stderr) fs.set(executor.stderr, Buffer.from(outcome.stderr));
    rec('exec', i, outcome.exitCode, start, stamp());
    ctx.put('outputs', `_constellation/${i}.stdout`, tail(outcome.stdout));
    ctx.put('outputs', `_constellation/${i}.stderr`, tail(outcome.stderr));
    if (outcome.exitCode !== 0 && !executor.ignore_error) {
      code = outcome.exitCode;
      break;
    }
  }
  if (code === 0) {
    // The AMQP script's manifest of collected files (`<size>\t<name>`), written after the collection.
    const manifest: string[] = [];
    const collect = (name: string, data: Buffer) => {
      ctx.put('outputs', name, data);
      manifest.push(`${data.length}\t${name}`);
    };
    for (const output of plan.outputs) {
      if (output.path_prefix !== undefined) {
        const pattern = globRegExp(output.path);
        for (const [path, data] of fs) {
          if (!pattern.test(path)) continue;
          const rel = path.slice(output.path_prefix.length).replace(/^\/+/, '');
          if (rel) collect(`${output.key}/${rel}`, data);
        }
      } else if (output.type === 'DIRECTORY') {
        const files = [...fs].filter(([path]) => path.startsWith(`${output.path}/`));
        if (files.length === 0) rec('missing', output.key);
        for (const [path, data] of files)
          collect(`${output.key}/${path.slice(output.path.length + 1)}`, data);
      } else {
        const data = fs.get(output.path);
        if (data) collect(output.key, data);
        else rec('missing', output.key);
      }
    }
    ctx.put('outputs', '_constellation/manifest', manifest.map((line) => `${line}\n`).join(''));
  }
  rec('end', stamp());
  return code;
}

function tail(text: string): Buffer {
  const bytes = Buffer.from(text);
  return bytes.length <= TAIL_BYTES ? bytes : bytes.subarray(bytes.length - TAIL_BYTES);
}

function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
