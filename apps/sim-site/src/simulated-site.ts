import type { TesExecutorLog, TesOutputFileLog, TesState } from '@constellation/tes';
import { DurationModel } from './duration-model';
import { SimHttpError } from './sim-error';
import { readTaskDocument, type SimTaskDocument } from './tes-document';
import { toolStdout } from './tool-output';

export interface SimSiteConfig {
  slug: string;
  /** Total cores and memory: tasks beyond them wait QUEUED at the site. */
  cores: number;
  memoryGib: number;
  /** The largest task the site accepts; a bigger one is refused with 400. Default: the totals. */
  perTask?: { cores: number; memoryGib: number };
  /** Work done per second relative to the model's reference hardware (2 = twice as fast). Default 1. */
  speed?: number;
  /** Modelled seconds per wall-clock second (60: a one-minute job takes one second). Default 1. */
  timeScale?: number;
  /** Share of tasks whose executor fails (exit 1, EXECUTOR_ERROR). Default 0. */
  errorRate?: number;
  /** Modelled seconds a task spends INITIALIZING (staging inputs) once it has its cores. Default 5. */
  stagingSeconds?: number;
  seed?: number;
  /** Milliseconds since the epoch; injectable for tests of the times written into the logs. */
  now?: () => number;
}

/** Persistent faults (until recover()): refuse new tasks, accept connections but never answer. */
export type SimFault = 'refuse' | 'silent';

export type TesView = 'MINIMAL' | 'BASIC' | 'FULL';

const FINAL: ReadonlySet<TesState> = new Set([
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
]);
/** The spec bounds page_size below 2048 and defaults it to 256. */
const DEFAULT_PAGE = 256;

interface SimTask {
  seq: number;
  id: string;
  creationTime: string;
  doc: SimTaskDocument;
  state: TesState;
  tool: string;
  modelledSeconds: number;
  inputGb: number;
  cores: number;
  memoryGib: number;
  holdsResources: boolean;
  fails: boolean;
  startTime?: string;
  endTime?: string;
  executorLog?: TesExecutorLog;
  systemLogs: string[];
  timer?: NodeJS.Timeout;
}

export interface SiteCounts {
  queued: number;
  running: number;
  complete: number;
  failed: number;
  canceled: number;
  coresInUse: number;
}

/**
 * One simulated TES site: it accepts tasks and "runs" each for its modelled time instead of executing it,
 * holding the cores and memory it asked for and queueing what does not fit. Nothing survives die().
 */
export class SimulatedSite {
  readonly slug: string;
  fault: SimFault | null = null;
  private readonly cfg: Required<Omit<SimSiteConfig, 'perTask' | 'now' | 'seed'>> & {
    perTask: { cores: number; memoryGib: number };
  };
  private readonly model: DurationModel;
  private readonly now: () => number;
  private tasks = new Map<string, SimTask>();
  private seq = 0;
  private coresFree: number;
  private memoryFree: number;

  constructor(config: SimSiteConfig, model?: DurationModel) {
    this.slug = config.slug;
    this.cfg = {
      slug: config.slug,
      cores: config.cores,
      memoryGib: config.memoryGib,
      perTask: config.perTask ?? { cores: config.cores, memoryGib: config.memoryGib },
      speed: config.speed ?? 1,
      timeScale: config.timeScale ?? 1,
      errorRate: config.errorRate ?? 0,
      stagingSeconds: config.stagingSeconds ?? 5,
    };
    this.model = model ?? new DurationModel(config.seed ?? 1);
    this.now = config.now ?? Date.now;
    this.coresFree = config.cores;
    this.memoryFree = config.memoryGib;
  }

  create(body: unknown): { id: string } {
    if (this.fault === 'refuse')
      throw new SimHttpError(422, 'SITE_REFUSED', `${this.slug} refuses new tasks (simulated fault)`);
    const doc = readTaskDocument(body);
    const cores = Math.max(1, Math.ceil(doc.resources?.cpu_cores ?? 1));
    // Without resources a Galaxy job asks TPV's default: 1 core, 3.8 GB.
    const memoryGib = doc.resources?.ram_gb ?? 3.8;
    const max = this.cfg.perTask;
    if (cores > max.cores || memoryGib > max.memoryGib) {
      throw new SimHttpError(
        400,
        'VALIDATION_FAILED',
        `${this.slug} takes at most ${max.cores} cores and ${max.memoryGib} GiB per task`,
        [{ path: 'resources', reason: `exceeds ${max.cores} cores / ${max.memoryGib} GiB` }],
      );
    }
    const tool = this.model.toolOf(doc.tags);
    const { seconds, inputGb } = this.model.model(doc.tags, tool);
    const seq = ++this.seq;
    const task: SimTask = {
      seq,
      id: `${this.slug}-${seq.toString(36).padStart(6, '0')}`,
      creationTime: this.iso(),
      doc,
      state: 'QUEUED',
      tool: tool.name,
      modelledSeconds: seconds,
      inputGb,
      cores,
      memoryGib,
      holdsResources: false,
      fails: this.model.uniform() < this.cfg.errorRate,
      systemLogs: [`queued at ${this.slug}`],
    };
    this.tasks.set(task.id, task);
    this.pump();
    return { id: task.id };
  }

  get(id: string, view: TesView): Record<string, unknown> {
    return this.render(this.find(id), view);
  }

  /** TES ListTasks: filters by name prefix, state and tags (zipped by position), keyset pages by creation. */
  list(query: {
    namePrefix?: string;
    state?: TesState;
    tags?: [string, string][];
    pageSize?: number;
    pageToken?: string;
    view: TesView;
  }): { tasks: Record<string, unknown>[]; next_page_token?: string } {
    const after = query.pageToken === undefined ? 0 : readPageToken(query.pageToken);
    const size = query.pageSize ?? DEFAULT_PAGE;
    const matches: SimTask[] = [];
    let more = false;
    for (const task of this.tasks.values()) {
      if (task.seq <= after || !matchesFilters(task, query)) continue;
      if (matches.length === size) {
        more = true;
        break;
      }
      matches.push(task);
    }
    const page: { tasks: Record<string, unknown>[]; next_page_token?: string } = {
      tasks: matches.map((t) => this.render(t, query.view)),
    };
    if (more)
      page.next_page_token = Buffer.from(String(matches[matches.length - 1].seq)).toString('base64url');
    return page;
  }

  /** Cancelling a finished task changes nothing, as in the spec and in the broker. */
  cancel(id: string): void {
    const task = this.find(id);
    if (FINAL.has(task.state)) return;
    this.finish(task, 'CANCELED', 'canceled by the client');
  }

  /** Forgets every task it holds (a site whose database was wiped): 404 for them from now on. */
  lose(): number {
    const n = this.tasks.size;
    this.reset();
    return n;
  }

  /** Preempts every task that holds cores (a cluster that took its nodes back); they end PREEMPTED. */
  preempt(): number {
    // Chosen first: finishing one starts queued tasks, which were not running when the nodes went.
    const victims = [...this.tasks.values()].filter(
      (t) => t.state === 'INITIALIZING' || t.state === 'RUNNING',
    );
    for (const task of victims)
      this.finish(task, 'PREEMPTED', 'preempted: the nodes were reclaimed (simulated fault)');
    return victims.length;
  }

  /** The process died: every task and timer is gone. */
  die(): void {
    this.reset();
    this.fault = null;
  }

  counts(): SiteCounts {
    const c: SiteCounts = { queued: 0, running: 0, complete: 0, failed: 0, canceled: 0, coresInUse: 0 };
    for (const t of this.tasks.values()) {
      if (t.state === 'QUEUED') c.queued++;
      else if (t.state === 'INITIALIZING' || t.state === 'RUNNING') c.running++;
      else if (t.state === 'COMPLETE') c.complete++;
      else if (t.state === 'CANCELED') c.canceled++;
      else c.failed++;
    }
    c.coresInUse = this.cfg.cores - this.coresFree;
    return c;
  }

  /** The state of every task it holds, keyed by the value of one of its tags (the broker's task id). */
  statesByTag(tag: string): Map<string, TesState> {
    const out = new Map<string, TesState>();
    for (const t of this.tasks.values()) {
      const value = t.doc.tags[tag];
      if (value !== undefined) out.set(value, t.state);
    }
    return out;
  }

  private reset(): void {
    for (const t of this.tasks.values()) clearTimeout(t.timer);
    this.tasks = new Map();
    this.coresFree = this.cfg.cores;
    this.memoryFree = this.cfg.memoryGib;
  }

  private find(id: string): SimTask {
    const task = this.tasks.get(id);
    if (!task) throw new SimHttpError(404, 'TASK_NOT_FOUND', `no task ${id} at ${this.slug}`);
    return task;
  }

  private wallMs(modelledSeconds: number): number {
    return (modelledSeconds / this.cfg.speed / this.cfg.timeScale) * 1000;
  }

  /** Starts queued tasks in arrival order, letting a smaller one pass a big one that does not fit yet. */
  private pump(): void {
    for (const task of this.tasks.values()) {
      if (task.state !== 'QUEUED') continue;
      if (task.cores > this.coresFree || task.memoryGib > this.memoryFree) continue;
      this.coresFree -= task.cores;
      this.memoryFree -= task.memoryGib;
      task.holdsResources = true;
      task.state = 'INITIALIZING';
      task.startTime = this.iso();
      task.systemLogs.push(`staging inputs on ${task.cores} core(s), ${task.memoryGib} GiB`);
      task.timer = setTimeout(() => this.run(task), this.wallMs(this.cfg.stagingSeconds));
    }
  }

  private run(task: SimTask): void {
    task.state = 'RUNNING';
    task.executorLog = { start_time: this.iso(), exit_code: 0 };
    task.timer = setTimeout(() => {
      const exit = task.fails ? 1 : 0;
      const log = task.executorLog as TesExecutorLog;
      log.end_time = this.iso();
      log.exit_code = exit;
      log.stdout = toolStdout(task.tool, task.inputGb, task.modelledSeconds / this.cfg.speed);
      log.stderr = exit === 0 ? '' : `${task.tool}: error: input file is truncated\n`;
      this.finish(task, exit === 0 ? 'COMPLETE' : 'EXECUTOR_ERROR', `executor exited with ${exit}`);
    }, this.wallMs(task.modelledSeconds));
  }

  private finish(task: SimTask, state: TesState, why: string): void {
    clearTimeout(task.timer);
    task.timer = undefined;
    task.state = state;
    task.endTime = this.iso();
    task.systemLogs.push(why);
    if (task.holdsResources) {
      task.holdsResources = false;
      this.coresFree += task.cores;
      this.memoryFree += task.memoryGib;
      this.pump();
    }
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private render(task: SimTask, view: TesView): Record<string, unknown> {
    if (view === 'MINIMAL') return { id: task.id, state: task.state };
    const full = view === 'FULL';
    const doc = task.doc;
    const out: Record<string, unknown> = { id: task.id, state: task.state };
    if (doc.name !== undefined) out.name = doc.name;
    if (doc.description !== undefined) out.description = doc.description;
    if (doc.inputs) out.inputs = full ? doc.inputs : doc.inputs.map(({ content: _c, ...rest }) => rest);
    if (doc.outputs) out.outputs = doc.outputs;
    if (doc.resources) out.resources = doc.resources;
    out.executors = doc.executors;
    if (doc.volumes) out.volumes = doc.volumes;
    out.tags = doc.tags;
    out.creation_time = task.creationTime;
    const log: Record<string, unknown> = { logs: [] };
    if (task.executorLog) {
      const { stdout, stderr, ...rest } = task.executorLog;
      log.logs = [full ? { ...rest, stdout, stderr } : rest];
    }
    if (task.startTime) log.start_time = task.startTime;
    if (task.endTime) log.end_time = task.endTime;
    log.metadata = { site: this.slug, tool: task.tool, modelled_seconds: task.modelledSeconds.toFixed(1) };
    if (task.state === 'COMPLETE')
      log.outputs = (doc.outputs ?? []).map((o) => outputLog(o.url, o.path, task));
    if (full) log.system_logs = task.systemLogs;
    out.logs = [log];
    return out;
  }
}

function outputLog(url: string, path: string, task: SimTask): TesOutputFileLog {
  return { url, path, size_bytes: String(Math.round(task.inputGb * 0.5 * 1024 ** 3)) };
}

function matchesFilters(
  task: SimTask,
  q: { namePrefix?: string; state?: TesState; tags?: [string, string][] },
) {
  if (q.namePrefix !== undefined && !(task.doc.name ?? '').startsWith(q.namePrefix)) return false;
  if (q.state !== undefined && task.state !== q.state) return false;
  for (const [key, value] of q.tags ?? []) {
    const have = task.doc.tags[key];
    // An empty value matches any value of a present key (TES 1.1 ListTasks tag_value).
    if (have === undefined || (value !== '' && have !== value)) return false;
  }
  return true;
}

function readPageToken(token: string): number {
  const n = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new SimHttpError(
      400,
      'VALIDATION_FAILED',
      'invalid request: page_token is not a token this site gave',
      [{ path: 'page_token', reason: 'is not a token this site gave' }],
    );
  return n;
}
