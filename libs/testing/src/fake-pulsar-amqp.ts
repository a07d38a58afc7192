import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import {
  fakeJobContents,
  pulsarFullStatus,
  simulatePlan,
  type FakePulsarDir,
  type FakePulsarJob,
  type FakePulsarSimulator,
  type SimulationContext,
} from './fake-pulsar-site';
import { Gate } from './gate';

/**
 * A Pulsar 0.15 server in message-queue mode on a real RabbitMQ (../shared/reference/pulsar-api.md; galaxyproject
 * pulsar/messaging/bind_amqp.py, pulsar/client/amqp_exchange.py, pulsar/managers/staging/{pre,post}.py):
 * consumes `pulsar_<manager>__{setup,kill,status}` from the durable direct exchange `pulsar`, stages inputs
 * (`message` actions written as text, `remote_transfer` actions really fetched over HTTP), plays the job with the
 * REST fake's simulator (or runs the script for real with job-script-runner.ts), POSTs outputs multipart (field `file`) to the action mapper's files endpoint, and
 * publishes status updates as Pulsar does: `running` at launch, the full dict at `complete`/`failed`, nothing
 * after a kill, an answer to every status request (`lost` for an unknown job). Like Pulsar it never declares the
 * status_update queue: whoever consumes it must.
 */

export interface FakePulsarAmqpOptions {
  amqpUrl: string;
  manager: string;
  /** Time each job phase takes. Default 5 ms. */
  stepDelayMs?: number;
  timeScale?: number;
  simulate?: FakePulsarSimulator;
  /**
   * Where the simulated script's `outputs` folder lives in the job directory. Constellation's AMQP adapter has
   * its script write outputs below the working directory, so that is the default.
   */
  scriptOutputs?: string;
  /** Delay before a kill takes effect (the status still answers the old state meanwhile). Default 0. */
  killDelayMs?: number;
  /**
   * app.yml `amqp_acknowledge: true`: status updates carry `acknowledge_uuid`/`acknowledge_queue` and the fake
   * listens for the `acknowledge_uuid_response` on `<prefix>_status_update_ack` (pulsar/client/amqp_exchange.py).
   */
  acknowledge?: boolean;
}

export interface FakePulsarAmqpPost {
  url: string;
  status: number;
  bytes: number;
}

export interface FakePulsarAmqp {
  readonly manager: string;
  job(jobId: string): FakePulsarJob | undefined;
  /** Every setup message received, parsed. */
  setups(): Array<Record<string, unknown>>;
  kills(): string[];
  statusRequests(): string[];
  /** When each status request was received (Date.now()), in the order of statusRequests(). */
  statusRequestTimes(): number[];
  posts(): FakePulsarAmqpPost[];
  fetched(): string[];
  forget(jobId: string): void;
  /** Keeps launched jobs `running` until release(). */
  hold(): void;
  release(): void;
  /** Keeps new jobs in `preprocessing` (staging inputs) until releaseStaging(); Pulsar ignores kills then. */
  holdStaging(): void;
  releaseStaging(): void;
  /**
   * Output uploads whose path matches are not sent, silently: Pulsar swallows a failed output upload
   * (pulsar/client/staging/down.py `_allow_collect_failure('output_workdir')`). null: send everything.
   */
  dropPosts(pattern: RegExp | null): void;
  /** With `acknowledge`: every acknowledge_uuid sent, and every acknowledge_uuid_response received. */
  ackRequests(): string[];
  acks(): string[];
  /** Stops consuming (Pulsar down) without deleting the queues. */
  stop(): Promise<void>;
  /** Stops and deletes the manager's queues. */
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const EXCHANGE = 'pulsar';
const TYPE_DIRS: Record<string, FakePulsarDir> = {
  input: 'inputs',
  tool: 'tool_files',
  config: 'configs',
  metadata: 'metadata',
  unstructured: 'unstructured',
  workdir: 'working',
};

export function pulsarQueueName(manager: string, name: string): string {
  return manager === '_default_' ? `pulsar__${name}` : `pulsar_${manager}__${name}`;
}

/** A manager name nobody else uses, so parallel runs and a shared RabbitMQ never mix. */
export function uniqueManager(): string {
  return `ctest_${randomBytes(5).toString('hex')}`;
}

/** Whether RabbitMQ answers at `url`; the reason when it does not. */
export async function amqpReachable(url: string): Promise<string | null> {
  try {
    const model = await connect(url, { timeout: 2000 });
    await model.close();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export async function startFakePulsarAmqp(options: FakePulsarAmqpOptions): Promise<FakePulsarAmqp> {
  const { manager } = options;
  const stepDelayMs = options.stepDelayMs ?? 5;
  const timeScale = options.timeScale ?? 0.01;
  const simulate = options.simulate ?? simulatePlan;
  const scriptOutputs = options.scriptOutputs ?? 'working/constellation-out';
  const jobs = new Map<string, FakePulsarJob>();
  const launchConfigs = new Map<string, Json>();
  const aborts = new Map<string, AbortController>();
  const setups: Json[] = [];
  const kills: string[] = [];
  const statusRequests: string[] = [];
  const statusRequestTimes: number[] = [];
  const posts: FakePulsarAmqpPost[] = [];
  const fetched: string[] = [];
  // While a test holds them, jobs wait before they run (staging) and before they finish (held).
  const stagingGate = new Gate();
  const heldGate = new Gate();
  let dropping: RegExp | null = null;
  const ackRequests: string[] = [];
  const acks: string[] = [];

  const model: ChannelModel = await connect(options.amqpUrl);
  model.on('error', () => undefined);
  const channel: Channel = await model.createChannel();
  channel.on('error', () => undefined);
  await channel.assertExchange(EXCHANGE, 'direct', { durable: true });
  const queue = (name: string) => pulsarQueueName(manager, name);

  const publishUpdate = (update: Json) => {
    const payload = { ...update };
    if (options.acknowledge) {
      // amqp_exchange.publish: an ack is requested for every message not on an _ack queue.
      const uuid = randomBytes(16).toString('hex');
      ackRequests.push(uuid);
      payload.acknowledge_uuid = uuid;
      payload.acknowledge_queue = 'status_update_ack';
      payload.acknowledge_submit_queue = 'status_update';
    }
    channel.publish(EXCHANGE, queue('status_update'), Buffer.from(JSON.stringify(payload)), {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
    });
  };

  // Folder names in the job directory; the simulator's 'outputs' is where the job script writes.
  const stored = (dir: FakePulsarDir | string) => (dir === 'outputs' ? scriptOutputs : dir);
  const fullStatus = (job: FakePulsarJob | undefined, id: string): Json =>
    pulsarFullStatus(job, id, job ? `/srv/pulsar/files/staging/${job.id}` : '');

  /** pulsar/managers/staging/pre.py with action_mapper.from_dict. */
  const stageIn = async (job: FakePulsarJob, item: Json, signal: AbortSignal): Promise<void> => {
    const action = item.action as Json | undefined;
    const name = item.name;
    const dir = TYPE_DIRS[String(item.type)];
    if (typeof name !== 'string' || !dir || !action)
      throw new Error(`malformed setup item ${JSON.stringify(item)}`);
    const rel = posix.normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/'))
      throw new Error('Attempt to read or write file outside an authorized directory.');
    if (action.action_type === 'message') {
      if (typeof action.contents !== 'string') throw new Error("KeyError: 'contents'");
      job.files.set(`${dir}/${rel}`, Buffer.from(action.contents, 'utf8'));
      return;
    }
    if (action.action_type !== 'remote_transfer')
      throw new Error(`invalid action type ${String(action.action_type)}`);
    if (!('source' in action) || !('path' in action)) throw new Error("KeyError: 'path'");
    if (typeof action.url !== 'string') throw new Error("KeyError: 'url'");
    fetched.push(action.url);
    const res = await fetch(action.url, { signal });
    if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${name}`);
    job.files.set(`${dir}/${rel}`, Buffer.from(await res.arrayBuffer()));
  };

  /** pulsar/managers/staging/post.py: working-directory files matching dynamic_outputs, and output_files. */
  const stageOut = async (job: FakePulsarJob, staging: Json, signal: AbortSignal): Promise<void> => {
    const mapper = staging.action_mapper as Json | undefined;
    const outputs = staging.client_outputs as Json | undefined;
    if (!mapper || !outputs) return;
    const endpoint = String(mapper.files_endpoint ?? '');
    if (!endpoint)
      throw new Error('Attempted to use remote_transfer action without defining a files_endpoint.');
    const send = async (path: string, fileType: string, data: Buffer) => {
      if (dropping?.test(path)) return;
      const params = new URLSearchParams({ path, file_type: fileType });
      const url = `${endpoint}${endpoint.includes('?') ? '&' : '?'}${params.toString()}`;
      const form = new FormData();
      form.append('file', new Blob([data]), posix.basename(path));
      const res = await fetch(url, { method: 'POST', body: form, signal });
      posts.push({ url, status: res.status, bytes: data.length });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status} posting ${path}`);
    };
    const workdir = outputs.working_directory;
    const patterns = (Array.isArray(outputs.dynamic_outputs) ? outputs.dynamic_outputs : []).map(
      (p) => new RegExp(`^(?:${String(p)})`),
    );
    if (typeof workdir === 'string') {
      for (const name of fakeJobContents(job, 'working').sort()) {
        if (patterns.some((re) => re.test(name))) {
          await send(posix.join(workdir, name), 'output_workdir', job.files.get(`working/${name}`) as Buffer);
        }
      }
    }
    for (const file of Array.isArray(outputs.output_files) ? outputs.output_files : []) {
      const data = job.files.get(`outputs/${posix.basename(String(file))}`);
      if (data) await send(String(file), 'output', data);
    }
  };

  const run = async (job: FakePulsarJob, launch: Json) => {
    const abort = new AbortController();
    aborts.set(job.id, abort);
    const signal = abort.signal;
    const staging = (launch.remote_staging ?? {}) as Json;
    try {
      await delay(stepDelayMs, undefined, { signal });
      for (const item of Array.isArray(staging.setup) ? (staging.setup as Json[]) : []) {
        await stageIn(job, item, signal);
      }
      await stagingGate.pass(signal);
      if (signal.aborted) return;
      job.status = 'running';
      publishUpdate(fullStatus(job, job.id));
      await heldGate.pass(signal);
      if (signal.aborted) return;
      const ctx: SimulationContext = {
        signal,
        timeScale,
        put: (dir, name, data) =>
          job.files.set(`${stored(dir)}/${name}`, Buffer.isBuffer(data) ? data : Buffer.from(data)),
        get: (dir, name) => job.files.get(`${stored(dir)}/${name}`),
      };
      const code = await simulate(job, ctx);
      if (signal.aborted) return;
      job.returncode = code;
      job.status = 'postprocessing';
      await stageOut(job, staging, signal);
      job.status = 'complete';
    } catch (err) {
      if (signal.aborted) return;
      job.jobStderr += `${err instanceof Error ? err.message : String(err)}\n`;
      job.status = 'failed';
    } finally {
      aborts.delete(job.id);
    }
    publishUpdate(fullStatus(job, job.id));
  };

  const onSetup = (body: Json) => {
    setups.push(body);
    const id = String(body.job_id);
    // _is_duplicate_setup: a redelivered setup for a launched job is ignored.
    if (jobs.has(id)) return;
    const job: FakePulsarJob = {
      id,
      manager,
      status: 'preprocessing',
      launched: true,
      submits: 1,
      commandLine: String(body.command_line),
      remoteStaging: body.remote_staging,
      returncode: null,
      jobStdout: '',
      jobStderr: '',
      files: new Map(),
    };
    jobs.set(id, job);
    launchConfigs.set(id, body);
    void run(job, body);
  };

  const onKill = (body: Json) => {
    const id = String(body.job_id);
    kills.push(id);
    const job = jobs.get(id);
    // pulsar/managers/unqueued.py: while the inputs are staged there is no pid to kill, and the kill is lost.
    if (!job || job.status === 'preprocessing') return;
    const kill = () => {
      if (['complete', 'failed', 'cancelled'].includes(job.status)) return;
      aborts.get(id)?.abort();
      job.status = 'cancelled';
      job.returncode = -9;
    };
    if (options.killDelayMs) setTimeout(kill, options.killDelayMs);
    else kill();
  };

  const onStatus = (body: Json) => {
    const id = String(body.job_id);
    statusRequests.push(id);
    statusRequestTimes.push(Date.now());
    publishUpdate(fullStatus(jobs.get(id), id));
  };

  const consumerTags: string[] = [];
  const consume = async (name: string, handler: (body: Json) => void) => {
    await channel.assertQueue(queue(name), { durable: true });
    await channel.bindQueue(queue(name), EXCHANGE, queue(name));
    const { consumerTag } = await channel.consume(queue(name), (message: ConsumeMessage | null) => {
      if (!message) return;
      try {
        // kombu's consumer accepts only JSON (accept=['json']).
        if (message.properties.contentType === 'application/json') {
          handler(JSON.parse(message.content.toString('utf8')) as Json);
        }
      } finally {
        channel.ack(message);
      }
    });
    consumerTags.push(consumerTag);
  };
  await consume('setup', onSetup);
  await consume('kill', onKill);
  await consume('status', onStatus);
  if (options.acknowledge) {
    await consume('status_update_ack', (body) => {
      if (typeof body.acknowledge_uuid_response === 'string') acks.push(body.acknowledge_uuid_response);
    });
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const tag of consumerTags) await channel.cancel(tag).catch(() => undefined);
    for (const a of aborts.values()) a.abort();
  };

  return {
    manager,
    job: (id) => jobs.get(id),
    setups: () => [...setups],
    kills: () => [...kills],
    statusRequests: () => [...statusRequests],
    statusRequestTimes: () => [...statusRequestTimes],
    posts: () => [...posts],
    fetched: () => [...fetched],
    forget: (id) => {
      aborts.get(id)?.abort();
      jobs.delete(id);
    },
    hold: () => heldGate.close(),
    release: () => heldGate.open(),
    holdStaging: () => stagingGate.close(),
    releaseStaging: () => stagingGate.open(),
    dropPosts: (pattern) => {
      dropping = pattern;
    },
    ackRequests: () => [...ackRequests],
    acks: () => [...acks],
    stop,
    close: async () => {
      await stop();
      for (const name of ['setup', 'kill', 'status', 'status_update', 'status_update_ack']) {
        await channel.deleteQueue(queue(name)).catch(() => undefined);
      }
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * The RabbitMQ the AMQP suites use (AMQP_URL, by default the local one) and whether it answers, decided before
 * the suites are defined so that they can be skipped as a whole. Under CI a missing RabbitMQ fails the run.
 */
export function amqpForTests(): {
  url: string;
  skipReason: string | null;
  /** `describe` when RabbitMQ answers, else `describe.skip`. */
  describe: jest.Describe;
} {
  const found = probeAmqp();
  return { ...found, describe: found.skipReason === null ? describe : describe.skip };
}

function probeAmqp(): { url: string; skipReason: string | null } {
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
  let host = '127.0.0.1';
  let port = 5672;
  try {
    const parsed = new URL(url);
    host = parsed.hostname;
    port = Number(parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672));
  } catch {
    return { url, skipReason: 'AMQP_URL is not a valid URL' };
  }
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const s=require('net').connect(${port},${JSON.stringify(host)});s.setTimeout(2000);` +
        `s.on('connect',()=>process.exit(0));s.on('error',e=>{console.log(e.code||e.message);process.exit(1)});` +
        `s.on('timeout',()=>{console.log('timeout');process.exit(1)});`,
    ],
    { encoding: 'utf8', timeout: 5000 },
  );
  if (probe.status === 0) return { url, skipReason: null };
  const reason = `RabbitMQ is not reachable at ${host}:${port} (${(probe.stdout || 'no answer').trim()})`;
  if (process.env.CI === 'true') throw new Error(`${reason}; under CI the AMQP suites must run`);
  console.warn(`skipping the AMQP suites: ${reason}`);
  return { url, skipReason: reason };
}
