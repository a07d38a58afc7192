/**
 * npm run bench:dispatch — dispatch at network scale (issue 16): end-to-end throughput with one and two
 * broker replicas, the latency the broker adds to a 0-second task on each kind of site, the calls a running
 * task costs its site, and the time of the broker's placement and tracking rounds with many unfinished tasks.
 *
 * The real broker (separate processes, one PostgreSQL database) with simulated sites on loopback: the fakes
 * of @constellation/testing speaking GA4GH TES 1.1, Pulsar REST and Pulsar over a real RabbitMQ (AMQP_URL,
 * default amqp://guest:guest@127.0.0.1:5672; without one the Pulsar AMQP figures are left out, saying why).
 * Everything is measured from outside: the TES API, the calls counted at the sites, and the brokers'
 * /metrics, so the bench keeps working whatever the dispatch code does inside.
 *
 * Phases: (1) latency, one replica, tasks one every 250 ms pinned to one site of each kind; (2, 3) a burst
 * of tasks placed freely on 20 TES sites with one and then two replicas; (4) long-running tasks on one site
 * of each kind with two replicas, and the calls the sites answer over a window; (5) on a database of its
 * own, unfinished tasks inserted in bulk (see seed-unfinished.ts) and the rounds of one replica measured.
 *
 * Env: DATABASE_URL (a server where it may create and drop databases; else an embedded PostgreSQL),
 * AMQP_URL, CONSTELLATION_DISPATCH_SECONDS and CONSTELLATION_TRACK_SECONDS (passed to the brokers; default
 * the broker's own), BENCH_ROUNDS_SETTLE_S (phase 5's wait before it measures; default the track interval),
 * BENCH_ROUNDS_FIRST_WALKS=1 (phase 5 seeds its tasks just submitted, not already walked: the settle's log
 * line then measures the first walks, which write every seeded task). `--quick` runs a smaller version (about half the time); `--rounds-only` runs phase 5
 * alone and `--throughput-only` phases 2 and 3 (printed, never written to the results); `--write-results` writes bench/results/dispatch.json.
 */
import { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem, tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateToken } from '../../libs/auth/src/token-codec';
import { amqpReachable } from '@constellation/testing';
import { BenchDatabase, migrateBenchDatabase, openBenchDatabase, sql } from '../support/bench-database';
import {
  api,
  expectOk,
  insertSubmitter,
  registerSite,
  sleep,
  startReadyBroker,
} from '../support/bench-broker';
import {
  BenchSite,
  SITE_KINDS,
  SiteKind,
  startPulsarAmqpSite,
  startPulsarRestSite,
  startTesSite,
} from './bench-sites';
import { scrape, siteCalls, stepSoFar, stepWindow, StepWindow, unfinished } from './broker-metrics';
import { HeldTesSite, startHeldTesSite } from './held-tes-site';
import { seedUnfinished } from './seed-unfinished';

const ROOT = path.resolve(__dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const WRITE_RESULTS = process.argv.includes('--write-results');
/** Phase 5 alone: the round times, without the end-to-end phases before it. */
const ROUNDS_ONLY = process.argv.includes('--rounds-only');
/** Phases 2 and 3 alone (the throughput bursts), printed, never written to the results: for profiling. */
const THROUGHPUT_ONLY = process.argv.includes('--throughput-only');
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DISPATCH_SECONDS = Number(process.env.CONSTELLATION_DISPATCH_SECONDS ?? 1);
const TRACK_SECONDS = Number(process.env.CONSTELLATION_TRACK_SECONDS ?? 5);
/** Phase 5 seeds its tracked tasks just submitted, so the settle measures their first walks (see seed-unfinished.ts). */
const FIRST_WALKS = process.env.BENCH_ROUNDS_FIRST_WALKS === '1';

const SETTINGS = QUICK
  ? {
      latencyTasksPerKind: 10,
      throughputTasks: 400,
      throughputSites: 20,
      runningTasks: 1_000,
      callsWindowS: 20,
      roundScales: [1_000, 20_000],
      roundWindowS: 15,
    }
  : {
      latencyTasksPerKind: 40,
      throughputTasks: positiveInt('BENCH_THROUGHPUT_TASKS', 5_000),
      throughputSites: 20,
      runningTasks: 10_000,
      callsWindowS: 60,
      roundScales: [1_000, 150_000],
      roundWindowS: 30,
    };
/**
 * Creates the throughput burst keeps in flight (BENCH_CREATE_CONCURRENCY). The client is closed-loop: with
 * too few in flight a burst measures a create's latency rather than the brokers' throughput (16, this
 * bench's first setting, held the creates to about 250 a second while the brokers were a third idle).
 */
const CREATE_CONCURRENCY = positiveInt('BENCH_CREATE_CONCURRENCY', 64);

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a whole number of at least 1, not "${raw}"`);
  return n;
}
/** How long the throughput phases watch the brokers idle before the burst, for their CPU at rest. */
const IDLE_WINDOW_MS = 3_000;
/** Longest wait for a phase's tasks to finish or to be running: the bench stays bounded in time. */
const PHASE_TIMEOUT_MS = QUICK ? 90_000 : 180_000;
const ZERO_SECOND_TASK = { executors: [{ image: 'alpine', command: ['true'] }] };
const LONG_TASK = { executors: [{ image: 'alpine', command: ['sleep', '3600'] }] };

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
/** Logs a phase's figures as soon as they are known, so a run cut short still leaves what it measured. */
function logged<T>(what: string, value: T): T {
  log(`${what}: ${JSON.stringify(value)}`);
  return value;
}
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const pinned = (slug: string, task: object, tags: Record<string, string> = {}) => ({
  ...task,
  tags,
  resources: { backend_parameters: { 'constellation.site': slug } },
});

/** One broker process of the bench; every replica shares the database, the secret key and the data folder. */
interface Replica {
  base: string;
  child: ChildProcess;
  logFile: string;
}

class Brokers {
  readonly replicas: Replica[] = [];
  readonly admin = generateToken();
  private readonly secret = generateToken();
  private readonly dataDir = mkdtempSync(path.join(tmpdir(), 'constellation-bench-dispatch-'));

  constructor(readonly url: string) {}

  get bases(): string[] {
    return this.replicas.map((r) => r.base);
  }

  async add(): Promise<Replica> {
    const logFile = path.join(this.dataDir, `broker-${this.replicas.length + 1}.log`);
    const { base, child } = await startReadyBroker(
      (base) => ({
        DATABASE_URL: this.url,
        AMQP_URL,
        CONSTELLATION_SECRET_KEY: this.secret,
        CONSTELLATION_ADMIN_TOKEN: this.admin,
        // Job files uploaded by AMQP sites wait in this folder, which replicas must share.
        CONSTELLATION_DATA_DIR: this.dataDir,
        CONSTELLATION_PUBLIC_URL: base,
        CONSTELLATION_PROBE_SECONDS: '5',
        CONSTELLATION_DISPATCH_SECONDS: String(DISPATCH_SECONDS),
        CONSTELLATION_TRACK_SECONDS: String(TRACK_SECONDS),
      }),
      logFile,
    );
    const replica = { base, child, logFile };
    this.replicas.push(replica);
    return replica;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.replicas.splice(0).map(
        (r) =>
          new Promise<void>((resolve) => {
            if (r.child.exitCode !== null) return resolve();
            const timer = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
            r.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            r.child.kill('SIGTERM');
          }),
      ),
    );
  }

  /**
   * CPU seconds the replicas have used so far (Linux /proc; clock ticks of 1/100 s): against the wall time,
   * how much of the machine the brokers actually got, which on a shared machine is not all they asked for.
   */
  cpuSeconds(): number {
    return this.replicas.reduce((total, r) => total + procTicks(r.child.pid as number) / 100, 0);
  }

  /** A line of every replica's log that says something went wrong, for the report. */
  errors(): string[] {
    return this.replicas.flatMap((r) =>
      readFileSync(r.logFile, 'utf8')
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l))
        .slice(0, 3),
    );
  }
}

/**
 * Creates `bodies` through the TES API, `concurrency` at a time, spread over the replicas; the task ids.
 * `latenciesMs` gets each create's time from request to answer.
 */
async function createAll(
  bases: string[],
  token: string,
  bodies: object[],
  concurrency: number,
  latenciesMs: number[] = [],
): Promise<string[]> {
  const ids: string[] = new Array(bodies.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const c0 = performance.now();
        const task = await expectOk(
          'create',
          api(bases[i % bases.length], token, 'POST', '/ga4gh/tes/v1/tasks', bodies[i]),
        );
        ids[i] = task.id as string;
        latenciesMs.push(performance.now() - c0);
      }
    }),
  );
  return ids;
}

/** Clock ticks (1/100 s) of user and system time of a process, from Linux's /proc; 0 once it has gone. */
function procTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

const sumCpu = (u: NodeJS.CpuUsage) => u.user + u.system;

/**
 * The CPU ticks so far of each PostgreSQL server process connected to the bench database (the brokers' pools
 * keep theirs open), by pid; empty when the server is on another machine.
 */
async function databaseCpu(url: string): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }>(
    url,
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return new Map(rows.map((r) => [r.pid, procTicks(r.pid)]));
}

/** CPU seconds the processes of `after` used since `before` (a process new since then, all of its own). */
function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / 100;
}

/** Polls the brokers' /metrics until `done` holds; the time it took, or throws after the phase timeout. */
async function until(
  bases: string[],
  what: string,
  done: (samples: Awaited<ReturnType<typeof scrape>>) => boolean,
): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (done(await scrape(bases))) return;
    await sleep(200);
  }
  const state = unfinished(await scrape(bases));
  throw new Error(
    `${what}: not reached in ${PHASE_TIMEOUT_MS / 1000} s (unfinished: ${JSON.stringify(state)})`,
  );
}

const unfinishedTotal = (s: Awaited<ReturnType<typeof scrape>>) =>
  Object.values(unfinished(s)).reduce((a, b) => a + b, 0);

// --- phase 1: added latency --------------------------------------------------------------------------------

interface LatencyRow {
  kind: SiteKind;
  tasks: number;
  endToEnd: { p50: number; p99: number };
  site: { p50: number; p99: number };
  added: { p50: number; p99: number };
}

async function latencyOf(
  base: string,
  token: string,
  site: BenchSite & { slug: string; watch?: (id: string) => void },
): Promise<LatencyRow> {
  const run = Math.random().toString(36).slice(2, 10);
  const created = new Map<string, number>();
  const completed = new Map<string, number>();
  const failed: string[] = [];
  const creates: Promise<void>[] = [];
  // Watched while tasks are still being created: each is seen COMPLETE when it is, not after the last create.
  let creating = true;
  const watching = watchUntilDone();
  for (let i = 0; i < SETTINGS.latencyTasksPerKind; i++) {
    creates.push(
      (async () => {
        const at = performance.now();
        const task = await expectOk(
          'create',
          api(
            base,
            token,
            'POST',
            '/ga4gh/tes/v1/tasks',
            pinned(site.slug, ZERO_SECOND_TASK, { bench_run: run }),
          ),
        );
        created.set(task.id as string, at);
        site.watch?.(task.id as string);
      })(),
    );
    await sleep(250);
  }
  await Promise.all(creates);
  creating = false;
  await watching;

  // One list call every 50 ms sees every task's state: a resolution of 50 ms at almost no load.
  async function watchUntilDone(): Promise<void> {
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    while ((creating || completed.size + failed.length < created.size) && Date.now() < deadline) {
      const res = await expectOk(
        'list',
        api(
          base,
          token,
          'GET',
          `/ga4gh/tes/v1/tasks?view=MINIMAL&page_size=2047&tag_key=bench_run&tag_value=${run}`,
        ),
      );
      const now = performance.now();
      for (const t of res.tasks as Array<{ id: string; state: string }>) {
        if (completed.has(t.id) || failed.includes(t.id)) continue;
        if (t.state === 'COMPLETE') completed.set(t.id, now);
        else if (['EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'].includes(t.state))
          failed.push(t.id);
      }
      await sleep(50);
    }
  }
  if (failed.length > 0 || completed.size < created.size)
    throw new Error(
      `latency on ${site.kind}: ${failed.length} failed, ${created.size - completed.size - failed.length} unfinished`,
    );
  const endToEnd: number[] = [];
  const own: number[] = [];
  const added: number[] = [];
  for (const [id, at] of created) {
    const total = ((completed.get(id) as number) - at) / 1000;
    const siteS = (site.siteMs(id) ?? NaN) / 1000;
    endToEnd.push(total);
    own.push(siteS);
    added.push(total - siteS);
  }
  const pq = (v: number[]) => ({ p50: round(quantile(v, 0.5)), p99: round(quantile(v, 0.99)) });
  return { kind: site.kind, tasks: created.size, endToEnd: pq(endToEnd), site: pq(own), added: pq(added) };
}

// --- phases 2 and 3: throughput ----------------------------------------------------------------------------

interface ThroughputRow {
  replicas: number;
  tasks: number;
  createdS: number;
  submittedS: number;
  completeS: number;
  tasksPerS: number;
  /** A create's time from request to answer, as the client saw it while CREATE_CONCURRENCY were in flight. */
  createMs: { p50: number; p99: number };
  /** CPU seconds the brokers used during the burst, all replicas together. */
  brokerCpuS: number;
  /** CPU seconds of the database's server processes serving the bench database during the burst. */
  databaseCpuS: number;
  /** CPU seconds of this process during the burst: the bench client and every fake site. */
  benchCpuS: number;
  /** CPU seconds per second of the brokers and the database together, idle but for the bench's scrapes. */
  idleCpuPerS: number;
  /** The brokers' steps during the burst (all replicas together): where the time went. */
  steps: Record<'placement' | 'submission' | 'tracking', StepWindow>;
}

async function throughput(brokers: Brokers, token: string): Promise<ThroughputRow> {
  const bases = brokers.bases;
  const submitted = (s: Awaited<ReturnType<typeof scrape>>) =>
    s
      .filter(
        (x) => x.name === 'constellation_dispatch_submissions_total' && x.labels.outcome === 'submitted',
      )
      .reduce((a, x) => a + x.value, 0);
  // What the brokers and the database use with nothing to do, watched as the burst is (a scrape every
  // 200 ms): the part of the burst's CPU that is not per task.
  const idle0 = { brokers: brokers.cpuSeconds(), db: await databaseCpu(brokers.url), at: performance.now() };
  for (let i = 0; i < IDLE_WINDOW_MS / 200; i++) {
    await scrape(bases);
    await sleep(200);
  }
  const idleS = (performance.now() - idle0.at) / 1000;
  const idleCpuPerS =
    (brokers.cpuSeconds() - idle0.brokers + cpuSince(idle0.db, await databaseCpu(brokers.url))) / idleS;
  const start = await scrape(bases);
  const before = submitted(start);
  const cpu0 = brokers.cpuSeconds();
  const db0 = await databaseCpu(brokers.url);
  const bench0 = process.cpuUsage();
  const n = SETTINGS.throughputTasks;
  const createLatenciesMs: number[] = [];
  const t0 = performance.now();
  const creating = createAll(
    bases,
    token,
    Array.from({ length: n }, () => ZERO_SECOND_TASK),
    CREATE_CONCURRENCY,
    createLatenciesMs,
  );
  let createdS = NaN;
  void creating.then(() => {
    createdS = (performance.now() - t0) / 1000;
  });
  let submittedS = NaN;
  await creating;
  await until(bases, 'every task COMPLETE', (s) => {
    if (Number.isNaN(submittedS) && submitted(s) - before >= n) submittedS = (performance.now() - t0) / 1000;
    return unfinishedTotal(s) === 0;
  });
  const completeS = (performance.now() - t0) / 1000;
  if (Number.isNaN(submittedS)) submittedS = completeS;
  const end = await scrape(bases);
  const steps = Object.fromEntries(
    (['placement', 'submission', 'tracking'] as const).map((step) => [
      step,
      stepWindow(stepSoFar(start, step), stepSoFar(end, step)),
    ]),
  ) as ThroughputRow['steps'];
  return {
    replicas: bases.length,
    tasks: n,
    createdS: round(createdS, 2),
    submittedS: round(submittedS, 2),
    completeS: round(completeS, 2),
    tasksPerS: round(n / completeS, 1),
    createMs: {
      p50: round(quantile(createLatenciesMs, 0.5), 1),
      p99: round(quantile(createLatenciesMs, 0.99), 1),
    },
    brokerCpuS: round(brokers.cpuSeconds() - cpu0, 1),
    databaseCpuS: round(cpuSince(db0, await databaseCpu(brokers.url)), 1),
    benchCpuS: round(sumCpu(process.cpuUsage(bench0)) / 1e6, 1),
    idleCpuPerS: round(idleCpuPerS, 3),
    steps,
  };
}

// --- phase 4: calls per running task -----------------------------------------------------------------------

interface CallsRow {
  kind: SiteKind;
  running: number;
  windowS: number;
  /** Status polls the site answered in the window (HTTP requests: on TES, every page of a list). */
  polls: number;
  /** Status calls as the broker makes them (on TES a walk of the paged list counts once). */
  walks: number;
  /** Every call the site answered in the window. */
  calls: number;
  /** The brokers' count of calls to the site in the window (constellation_site_calls_total). */
  brokerCounted: number;
  perTaskPerMin: number;
  /** Status calls (list walks on TES) per tracking interval. */
  perSitePerTrackRound: number;
  /** HTTP status requests (every page of a list) per tracking interval. */
  pagesPerTrackRound: number;
}

async function callsPerTask(
  brokers: Brokers,
  token: string,
  sites: Array<BenchSite & { slug: string }>,
): Promise<{ rows: CallsRow[]; tracking: StepWindow }> {
  const bases = brokers.bases;
  const per = Math.ceil(SETTINGS.runningTasks / sites.length);
  const bodies = sites.flatMap((s) => Array.from({ length: per }, () => pinned(s.slug, LONG_TASK)));
  log(`creating ${bodies.length} long-running tasks on ${sites.map((s) => s.kind).join(', ')}`);
  await createAll(bases, token, bodies, 16);
  // Measured with what runs by then if the brokers cannot start them all within the phase's time.
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (Date.now() < deadline && (unfinished(await scrape(bases)).RUNNING ?? 0) < bodies.length)
    await sleep(500);
  log(
    `${unfinished(await scrape(bases)).RUNNING ?? 0} of ${bodies.length} running; counting calls for ${SETTINGS.callsWindowS} s`,
  );
  const startPolls = sites.map((s) => s.statusCalls());
  const startWalks = sites.map((s) => s.statusWalks());
  const startAll = sites.map((s) => s.allCalls());
  const startScrape = await scrape(bases);
  await sleep(SETTINGS.callsWindowS * 1000);
  const endScrape = await scrape(bases);
  const brokerBefore = siteCalls(startScrape);
  const brokerAfter = siteCalls(endScrape);
  const minutes = SETTINGS.callsWindowS / 60;
  const rows = sites.map((s, i) => {
    const polls = s.statusCalls() - startPolls[i];
    const walks = s.statusWalks() - startWalks[i];
    const running = atSite(endScrape, s.slug);
    return {
      kind: s.kind,
      running,
      windowS: SETTINGS.callsWindowS,
      polls,
      walks,
      calls: s.allCalls() - startAll[i],
      brokerCounted: (brokerAfter.get(s.slug) ?? 0) - (brokerBefore.get(s.slug) ?? 0),
      perTaskPerMin: round(polls / Math.max(1, running) / minutes, 2),
      perSitePerTrackRound: round(walks / (SETTINGS.callsWindowS / TRACK_SECONDS), 1),
      pagesPerTrackRound: round(polls / (SETTINGS.callsWindowS / TRACK_SECONDS), 1),
    };
  });
  return { rows, tracking: stepWindow(stepSoFar(startScrape, 'tracking'), stepSoFar(endScrape, 'tracking')) };
}

/** The brokers' tasks submitted to one site (INITIALIZING or RUNNING there), from constellation_site_tasks. */
function atSite(samples: Awaited<ReturnType<typeof scrape>>, slug: string): number {
  // Every replica reports the same figure from the database: take one replica's.
  const seen = new Map<string, number>();
  for (const s of samples)
    if (s.name === 'constellation_site_tasks' && s.labels.site === slug && s.labels.state !== 'CANCELING')
      seen.set(s.labels.state, s.value);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

// --- phase 5: round times ----------------------------------------------------------------------------------

interface RoundRow {
  unfinished: number;
  tracked: number;
  queued: number;
  placement: StepWindow;
  tracking: StepWindow;
  /**
   * Task statuses the sites answered per second (a list page answers for each task on it), and what checking
   * every task each interval needs.
   */
  checksPerS: number;
  neededChecksPerS: number;
  /** Status calls (list walks) per site per tracking interval, and the HTTP requests (pages) they took. */
  walksPerSitePerRound: number;
  pagesPerSitePerRound: number;
  /** CPU seconds the broker used over the window, and per site walk (ms): the cost of a round's work itself. */
  brokerCpuS: number;
  brokerCpuMsPerWalk: number;
}

async function roundTimes(db: BenchDatabase): Promise<RoundRow[]> {
  const brokers = new Brokers(db.url);
  const sites: HeldTesSite[] = [];
  const rows: RoundRow[] = [];
  try {
    await migrateBenchDatabase(db.url);
    const submitterIds: string[] = [];
    for (let i = 0; i < 10; i++) submitterIds.push((await insertSubmitter(db.url, `bench-round-${i}`)).id);
    const replica = await brokers.add();
    for (let i = 0; i < SETTINGS.throughputSites + 1; i++) sites.push(await startHeldTesSite());
    const registered = [];
    for (const fake of sites)
      registered.push({
        ...(await registerSite(replica.base, brokers.admin, {
          kind: 'tes',
          url: fake.url,
          pulsar_manager: null,
          runtimes: ['docker'],
          capacity: { max_concurrent_tasks: 100_000 },
        })),
        fake,
      });
    const draining = registered.pop() as (typeof registered)[number];
    await expectOk('drain', api(replica.base, brokers.admin, 'POST', `/api/v1/sites/${draining.id}/drain`));
    let tracked = 0;
    let queued = 0;
    for (const scale of SETTINGS.roundScales) {
      const addQueued = Math.round(scale / 10) - queued;
      const addTracked = scale - Math.round(scale / 10) - tracked;
      log(`rounds: seeding ${addTracked} tracked and ${addQueued} queued tasks (${scale} unfinished)`);
      await seedUnfinished({
        url: db.url,
        submitterIds,
        sites: registered,
        drainingSlug: draining.slug,
        tracked: addTracked,
        queued: addQueued,
        trackSeconds: TRACK_SECONDS,
        firstWalks: FIRST_WALKS,
      });
      tracked += addTracked;
      queued += addQueued;
      // One tracking interval for the new tasks' first checks to come due and the rounds to settle, or
      // BENCH_ROUNDS_SETTLE_S: the first checks of tasks inserted all at once are a burst no site sees live.
      const seeded = await scrape(brokers.bases);
      const settleCpu0 = brokers.cpuSeconds();
      await sleep(Number(process.env.BENCH_ROUNDS_SETTLE_S ?? TRACK_SECONDS) * 1000);
      log(
        `rounds: first walks after seeding (the settle): ${JSON.stringify({
          tracking: stepWindow(
            stepSoFar(seeded, 'tracking'),
            stepSoFar(await scrape(brokers.bases), 'tracking'),
          ),
          brokerCpuS: round(brokers.cpuSeconds() - settleCpu0, 2),
        })}`,
      );
      log(`rounds: measuring ${SETTINGS.roundWindowS} s with ${scale} unfinished`);
      const total = (f: (s: HeldTesSite) => number) => sites.reduce((a, s) => a + f(s), 0);
      const [polls0, walks0, reported0] = [
        total((s) => s.statusCalls()),
        total((s) => s.statusWalks()),
        total((s) => s.reported()),
      ];
      const before = await scrape(brokers.bases);
      const cpu0 = brokers.cpuSeconds();
      await sleep(SETTINGS.roundWindowS * 1000);
      const brokerCpuS = brokers.cpuSeconds() - cpu0;
      const after = await scrape(brokers.bases);
      const polls = total((s) => s.statusCalls()) - polls0;
      const walks = total((s) => s.statusWalks()) - walks0;
      const reported = total((s) => s.reported()) - reported0;
      const perSiteRound = (n: number) =>
        round(n / registered.length / (SETTINGS.roundWindowS / TRACK_SECONDS), 1);
      rows.push(
        logged('rounds', {
          unfinished: scale,
          tracked,
          queued,
          placement: stepWindow(stepSoFar(before, 'placement'), stepSoFar(after, 'placement')),
          tracking: stepWindow(stepSoFar(before, 'tracking'), stepSoFar(after, 'tracking')),
          checksPerS: round(reported / SETTINGS.roundWindowS, 0),
          neededChecksPerS: round(tracked / TRACK_SECONDS, 0),
          walksPerSitePerRound: perSiteRound(walks),
          pagesPerSitePerRound: perSiteRound(polls),
          brokerCpuS: round(brokerCpuS, 2),
          brokerCpuMsPerWalk: round((brokerCpuS * 1000) / Math.max(1, walks), 1),
        }),
      );
    }
    return rows;
  } finally {
    await brokers.stopAll();
    await Promise.all(sites.map((s) => s.close()));
  }
}

// --- the run -----------------------------------------------------------------------------------------------

async function machine(url: string): Promise<Record<string, unknown>> {
  const [{ version }] = await sql<{ version: string }>(url, 'SHOW server_version');
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model,
    memory_gib: round(totalmem() / 2 ** 30, 1),
    load_average_at_start: loadavg().map((l) => round(l, 2)),
    node: process.version,
    postgresql: version,
  };
}

/** Phase 5 alone, for work on the rounds: the full bench takes long. */
async function roundsOnly(): Promise<void> {
  const roundDb = await openBenchDatabase('constellation_bench_dispatch_rounds');
  try {
    await roundTimes(roundDb);
  } finally {
    await roundDb.drop();
  }
}

async function main(): Promise<void> {
  if (ROUNDS_ONLY) return roundsOnly();
  const started = Date.now();
  const db = await openBenchDatabase('constellation_bench_dispatch');
  const brokers = new Brokers(db.url);
  const sites: BenchSite[] = [];
  const results: Record<string, unknown> = {};
  const latency: LatencyRow[] = [];
  const throughputRows: ThroughputRow[] = [];
  let calls: { rows: CallsRow[]; tracking: StepWindow } | undefined;
  let rounds: RoundRow[] = [];
  const amqpProblem = await amqpReachable(AMQP_URL);
  const kinds = SITE_KINDS.filter((k) => k !== 'pulsar-amqp' || amqpProblem === null);
  if (amqpProblem !== null)
    log(`RabbitMQ at ${AMQP_URL} unreachable (${amqpProblem}): no pulsar-amqp figures`);
  try {
    results.machine = await machine(db.url);
    await migrateBenchDatabase(db.url);
    const { token } = await insertSubmitter(db.url, 'bench-submitter');
    const first = await brokers.add();
    log(`broker up at ${first.base}`);

    // One site of each kind for latency and running tasks; 20 TES sites for the throughput burst.
    const kindSites: Array<BenchSite & { slug: string; id: string; watch?: (id: string) => void }> = [];
    for (const kind of kinds) {
      const site =
        kind === 'tes'
          ? await startTesSite({ stepDelayMs: 20 })
          : kind === 'pulsar-rest'
            ? await startPulsarRestSite({ stepDelayMs: 5 })
            : await startPulsarAmqpSite({ stepDelayMs: 5 }, AMQP_URL);
      sites.push(site);
      kindSites.push(Object.assign(site, await registerSite(first.base, brokers.admin, site.registration)));
    }
    const burstSites: Array<{ id: string }> = [];
    for (let i = 0; i < SETTINGS.throughputSites; i++) {
      const site = await startTesSite({ stepDelayMs: 5 });
      sites.push(site);
      burstSites.push(await registerSite(first.base, brokers.admin, site.registration));
    }
    log(`${sites.length} sites up`);

    for (const site of THROUGHPUT_ONLY ? [] : kindSites) {
      log(`latency on ${site.kind}`);
      latency.push(
        logged(
          'latency',
          await latencyOf(first.base, token, site as typeof site & { watch?: (id: string) => void }),
        ),
      );
    }

    const setAdmin = async (ids: Array<{ id: string }>, action: 'drain' | 'resume') => {
      for (const s of ids)
        await expectOk(action, api(first.base, brokers.admin, 'POST', `/api/v1/sites/${s.id}/${action}`));
    };
    // The burst goes where placement sends it among the 20 TES sites: the others are drained meanwhile.
    await setAdmin(kindSites, 'drain');
    log(`throughput, 1 replica: ${SETTINGS.throughputTasks} tasks`);
    throughputRows.push(logged('throughput', await throughput(brokers, token)));
    await brokers.add();
    log(`throughput, 2 replicas: ${SETTINGS.throughputTasks} tasks`);
    throughputRows.push(logged('throughput', await throughput(brokers, token)));

    results.broker_errors = brokers.errors();
    if (!THROUGHPUT_ONLY) {
      await setAdmin(kindSites, 'resume');
      await setAdmin(burstSites, 'drain');
      calls = logged('calls', await callsPerTask(brokers, token, kindSites));
      results.broker_errors = brokers.errors();
    }
  } finally {
    await brokers.stopAll();
    await Promise.all(sites.map((s) => s.close()));
    await db.drop();
  }

  if (!THROUGHPUT_ONLY) {
    const roundDb = await openBenchDatabase('constellation_bench_dispatch_rounds');
    try {
      rounds = await roundTimes(roundDb);
    } finally {
      await roundDb.drop();
    }
  }
  report({
    results,
    latency,
    throughputRows,
    calls,
    rounds,
    amqpProblem,
    seconds: (Date.now() - started) / 1000,
  });
}

interface Report {
  results: Record<string, unknown>;
  latency: LatencyRow[];
  throughputRows: ThroughputRow[];
  calls: { rows: CallsRow[]; tracking: StepWindow } | undefined;
  rounds: RoundRow[];
  amqpProblem: string | null;
  seconds: number;
}

function report(r: Report): void {
  const out = (s: string) => process.stdout.write(s);
  const met = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'yes' : '**no**');
  const tp = (n: number) => r.throughputRows.find((t) => t.replicas === n)?.tasksPerS;
  const lat = (k: SiteKind) => r.latency.find((l) => l.kind === k);
  const callsOf = (k: SiteKind) => r.calls?.rows.find((c) => c.kind === k);
  const rs = (n: number) => r.rounds.find((x) => x.unfinished === n);
  const rows: Array<[string, string, string, boolean | undefined]> = [];
  rows.push(['end-to-end throughput, 1 replica (tasks/s)', String(tp(1)), '', undefined]);
  rows.push(['end-to-end throughput, 2 replicas (tasks/s)', String(tp(2)), '>= 500', (tp(2) ?? 0) >= 500]);
  for (const k of SITE_KINDS) {
    const l = lat(k);
    const bound = k === 'pulsar-amqp' ? 0.5 : 1;
    rows.push([
      `added latency p50, ${k} (s)`,
      l ? String(l.added.p50) : 'n/a',
      `<= ${bound}`,
      l ? l.added.p50 <= bound : undefined,
    ]);
    rows.push([`added latency p99, ${k} (s)`, l ? String(l.added.p99) : 'n/a', '', undefined]);
  }
  const tes = callsOf('tes');
  rows.push([
    'TES calls (list walks) per site per tracking round',
    tes ? String(tes.perSitePerTrackRound) : 'n/a',
    '<= 1',
    tes ? tes.perSitePerTrackRound <= 1 : undefined,
  ]);
  rows.push([
    'TES HTTP requests (list pages) per site per tracking round',
    tes ? String(tes.pagesPerTrackRound) : 'n/a',
    '',
    undefined,
  ]);
  for (const k of SITE_KINDS) {
    const c = callsOf(k);
    const target = k === 'pulsar-amqp' ? '0' : '';
    rows.push([
      `status calls per running task per minute, ${k}`,
      c ? String(c.perTaskPerMin) : 'n/a',
      target,
      k === 'pulsar-amqp' && c ? c.polls === 0 : undefined,
    ]);
  }
  for (const n of SETTINGS.roundScales) {
    const x = rs(n);
    for (const step of ['placement', 'tracking'] as const) {
      const w = x?.[step];
      rows.push([
        `${step} round with ${n} unfinished: mean / slowest (s)`,
        w ? `${round(w.meanS)} / <= ${w.maxAtMostS}` : 'n/a',
        step === 'tracking' ? `<= ${DISPATCH_SECONDS} (the round interval)` : '',
        step === 'tracking' && w ? w.maxAtMostS <= DISPATCH_SECONDS : undefined,
      ]);
    }
    if (x)
      rows.push([
        `task statuses answered per s with ${n} unfinished (needed: every ${TRACK_SECONDS} s)`,
        `${x.checksPerS} of ${x.neededChecksPerS}`,
        `${x.neededChecksPerS}`,
        x.checksPerS >= 0.95 * x.neededChecksPerS,
      ]);
  }
  out(
    `\nbench:dispatch${QUICK ? ' --quick' : ''}: ${availableParallelism()} CPUs (load average ${loadavg()[0].toFixed(1)}), dispatch every ${DISPATCH_SECONDS} s, tracking every ${TRACK_SECONDS} s, run took ${Math.round(r.seconds)} s\n\n`,
  );
  out('| figure | measured | target | met |\n|---|---:|---|---|\n');
  for (const [name, value, target, ok] of rows) out(`| ${name} | ${value} | ${target} | ${met(ok)} |\n`);
  out(
    '\n| replicas | tasks | creates in flight | create p50 / p99 (ms) | all created (s) | all submitted (s) | all COMPLETE (s) | tasks/s | CPU s: brokers / database / bench and fakes | CPU ms per task: brokers / all | idle CPU of brokers and database (s/s) | CPU ms per task beyond idle: brokers and database |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const t of r.throughputRows) {
    const perTask = (s: number) => round((s * 1000) / t.tasks, 1);
    out(
      `| ${t.replicas} | ${t.tasks} | ${CREATE_CONCURRENCY} | ${t.createMs.p50} / ${t.createMs.p99} | ${t.createdS} | ${t.submittedS} | ${t.completeS} | ${t.tasksPerS} | ${t.brokerCpuS} / ${t.databaseCpuS} / ${t.benchCpuS} | ${perTask(t.brokerCpuS)} / ${perTask(t.brokerCpuS + t.databaseCpuS + t.benchCpuS)} | ${t.idleCpuPerS} | ${perTask(t.brokerCpuS + t.databaseCpuS - t.idleCpuPerS * t.completeS)} |\n`,
    );
  }
  out(
    '\n| replicas | placement runs, mean (s) | submission runs, mean (s) | tracking runs, mean (s) |\n|---:|---:|---:|---:|\n',
  );
  const runs = (w: StepWindow) => `${w.rounds}, ${round(w.meanS)}`;
  for (const t of r.throughputRows)
    out(
      `| ${t.replicas} | ${runs(t.steps.placement)} | ${runs(t.steps.submission)} | ${runs(t.steps.tracking)} |\n`,
    );
  out(
    '\n| kind | tasks | create to COMPLETE p50 / p99 (s) | site alone p50 / p99 (s) | added p50 / p99 (s) |\n|---|---:|---:|---:|---:|\n',
  );
  for (const l of r.latency)
    out(
      `| ${l.kind} | ${l.tasks} | ${l.endToEnd.p50} / ${l.endToEnd.p99} | ${l.site.p50} / ${l.site.p99} | ${l.added.p50} / ${l.added.p99} |\n`,
    );
  if (r.calls) {
    out(
      '\n| kind | running | window (s) | status calls (walks) | status requests (pages) | all calls at the site | counted by the brokers | requests per task per min |\n|---|---:|---:|---:|---:|---:|---:|---:|\n',
    );
    for (const c of r.calls.rows)
      out(
        `| ${c.kind} | ${c.running} | ${c.windowS} | ${c.walks} | ${c.polls} | ${c.calls} | ${c.brokerCounted} | ${c.perTaskPerMin} |\n`,
      );
    const t = r.calls.tracking;
    out(
      `\ntracking rounds meanwhile (both replicas): ${t.rounds}, mean ${round(t.meanS)} s, slowest <= ${t.maxAtMostS} s\n`,
    );
  }
  out(
    '\n| unfinished | tracked / queued | placement rounds, mean, p99 <= (s) | tracking rounds, mean, p99 <= (s) | statuses/s (needed) | walks / pages per site per round | broker CPU s (ms per walk) |\n|---:|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const x of r.rounds)
    out(
      `| ${x.unfinished} | ${x.tracked} / ${x.queued} | ${x.placement.rounds}, ${round(x.placement.meanS)}, ${x.placement.p99AtMostS} | ${x.tracking.rounds}, ${round(x.tracking.meanS)}, ${x.tracking.p99AtMostS} | ${x.checksPerS} (${x.neededChecksPerS}) | ${x.walksPerSitePerRound} / ${x.pagesPerSitePerRound} | ${x.brokerCpuS} (${x.brokerCpuMsPerWalk}) |\n`,
    );
  if (r.amqpProblem) out(`\nno pulsar-amqp figures: RabbitMQ unreachable (${r.amqpProblem})\n`);

  if (!WRITE_RESULTS || THROUGHPUT_ONLY) return;
  const kindMap = <T>(f: (k: SiteKind) => T | undefined) =>
    Object.fromEntries(SITE_KINDS.map((k) => [k, f(k) ?? null]));
  const json = {
    throughput_tasks_per_s: { '1': tp(1) ?? null, '2': tp(2) ?? null },
    added_latency_s: kindMap((k) => lat(k)?.added),
    calls_per_task_per_min: kindMap((k) => callsOf(k)?.perTaskPerMin),
    tes_calls_per_site_per_track_round: callsOf('tes')?.perSitePerTrackRound ?? null,
    round_s: Object.fromEntries(
      r.rounds.map((x) => [
        String(x.unfinished),
        { placement: round(x.placement.meanS), tracking: round(x.tracking.meanS) },
      ]),
    ),
    targets: {
      throughput_tasks_per_s_2_replicas: 500,
      added_latency_p50_s: { tes: 1, 'pulsar-rest': 1, 'pulsar-amqp': 0.5 },
      tes_calls_per_site_per_track_round: 1,
      amqp_polls_outside_reconciliation: 0,
      tracking_round_at_most_s: DISPATCH_SECONDS,
    },
    settings: {
      quick: QUICK,
      ...SETTINGS,
      dispatch_seconds: DISPATCH_SECONDS,
      track_seconds: TRACK_SECONDS,
      create_concurrency: CREATE_CONCURRENCY,
      broker: 'apps/broker (ts-node), CONSTELLATION_WORKERS=1 per replica, LOG_LEVEL=warn',
      sites: 'fakes of @constellation/testing on 127.0.0.1; Pulsar AMQP over a real RabbitMQ',
    },
    detail: { throughput: r.throughputRows, latency: r.latency, calls: r.calls, rounds: r.rounds },
    ...r.results,
    load_average_at_end: loadavg().map((l) => round(l, 2)),
    run_seconds: Math.round(r.seconds),
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'dispatch.json'), `${JSON.stringify(json, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:dispatch failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
