/**
 * npm run bench:memory — the broker's memory and placement time with hundreds of large inline inputs
 * queued (issue 20, item 3: 300 tasks of 9 MB took the broker from 0.7 to 3.1 GB, and a FULL list of them
 * to 2.3 GB or a 500).
 *
 * The real broker (ts-node, as bench:api runs it) on a real PostgreSQL, with two simulated TES sites (the
 * fakes of test/support): one open, one draining. The large tasks are pinned to the draining site, so they
 * stay QUEUED and every placement round considers them; a small submitter's tasks go to the open site.
 * Phases: placement rounds without the large tasks, queueing them, placement rounds with them, every FULL
 * page of them at page_size 50 and 400, and a quiet spell. The broker's RSS is read from /proc every 50 ms.
 *
 * The bound it checks (exit 1 when broken): the peak RSS of the whole run stays under BOUND_MIB. Without a
 * bound on inline content, the tester's 300 tasks of 9 MB alone would need 2.7 GB.
 *
 * Env: DATABASE_URL (a server where it may create and drop a database; else an embedded PostgreSQL),
 * BENCH_TASKS (large tasks, default 300), BENCH_CONTENT_MIB (content per large task, default 6),
 * BENCH_ROUND_SECONDS (length of each placement phase, default 10). `--write-results` writes
 * bench/results/memory.json.
 */
import { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateToken } from '../../libs/auth/src/token-codec';
import { migrateBenchDatabase, openBenchDatabase } from '../support/bench-database';
import {
  api,
  expectOk,
  insertSubmitter,
  registerSite,
  sleep,
  startReadyBroker,
} from '../support/bench-broker';
import { FakeTesSite, startFakeTesSite } from '@constellation/testing';

const ROOT = path.resolve(__dirname, '..', '..');
const TASKS = Number(process.env.BENCH_TASKS ?? 300);
const CONTENT_MIB = Number(process.env.BENCH_CONTENT_MIB ?? 6);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 10);
/** Submitters sharing the large tasks: each stays under the default 1 GiB of queued inline content. */
const LARGE_SUBMITTERS = Math.max(1, Math.ceil((TASKS * CONTENT_MIB) / 900));
/** Creates in flight at once, as a few busy clients would send them. */
const CREATE_CONCURRENCY = 4;
const SMALL_TASKS = 20;
const BOUND_MIB = 1024;
const WRITE_RESULTS = process.argv.includes('--write-results');
const MIB = 1024 * 1024;

interface PhaseRow {
  phase: string;
  seconds: number;
  peakRssMib: number;
  endRssMib: number;
  placementRounds?: number;
  placementMeanMs?: number;
  smallWaitMeanMs?: number;
  smallWaitMaxMs?: number;
  detail: string;
}

/** The broker's resident set, from /proc (Linux), in bytes. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every 50 ms; `mark()` starts a new phase and answers the last one's peak. */
class RssSampler {
  private peak = 0;
  private overall = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 50);
  }
  private sample(): number {
    const rss = rssOf(this.pid);
    this.peak = Math.max(this.peak, rss);
    this.overall = Math.max(this.overall, rss);
    return rss;
  }
  mark(): { peak: number; now: number } {
    const now = this.sample();
    const out = { peak: this.peak, now };
    this.peak = now;
    return out;
  }
  peakOverall(): number {
    return this.overall;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** The broker's placement step so far: rounds and total seconds (constellation_dispatch_step_duration_seconds). */
async function placementSoFar(broker: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${broker}/metrics`)).text();
  const value = (suffix: string) => {
    const m = new RegExp(
      `^constellation_dispatch_step_duration_seconds_${suffix}\\{[^}]*step="placement"[^}]*\\} (\\S+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { count: value('count'), sum: value('sum') };
}

/** Registers a simulated TES site as the admin, approves it, and waits for its probe. */
const registerTesSite = (broker: string, admin: string, fake: FakeTesSite) =>
  registerSite(broker, admin, {
    kind: 'tes',
    url: fake.url,
    pulsar_manager: null,
    capacity: { max_concurrent_tasks: 1000 },
    runtimes: ['docker'],
  });

const pinned = (slug: string, inputs: unknown[]) => ({
  executors: [{ image: 'alpine', command: ['true'] }],
  inputs,
  resources: { backend_parameters: { 'constellation.site': slug } },
});

/** A compressible content (PostgreSQL stores it small; the broker handles every byte), unique per task. */
function largeContent(n: number): string {
  const line = `task ${n}: the quick brown fox jumps over the lazy dog "quoted" \\ tab\t é\n`;
  return line
    .repeat(Math.ceil((CONTENT_MIB * MIB) / Buffer.byteLength(line)))
    .slice(0, CONTENT_MIB * MIB - 16);
}

/** Submits the small tasks at once and waits until each has left QUEUED; how long each waited, in ms. */
async function smallTaskWaits(broker: string, token: string, slug: string): Promise<number[]> {
  const created = await Promise.all(
    Array.from({ length: SMALL_TASKS }, async () => {
      const at = Date.now();
      const { id } = await expectOk(
        'small create',
        api(broker, token, 'POST', '/ga4gh/tes/v1/tasks', pinned(slug, [])),
      );
      return { id: id as string, at };
    }),
  );
  const waits: number[] = [];
  const pending = new Map(created.map((c) => [c.id, c.at]));
  const deadline = Date.now() + 120_000;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const [id, at] of [...pending]) {
      const task = await expectOk('small get', api(broker, token, 'GET', `/ga4gh/tes/v1/tasks/${id}`));
      if (task.state !== 'QUEUED') {
        waits.push(Date.now() - at);
        pending.delete(id);
      }
    }
    await sleep(50);
  }
  if (pending.size > 0) throw new Error(`${pending.size} small tasks were never placed`);
  return waits;
}

async function main(): Promise<void> {
  const database = await openBenchDatabase('constellation_bench_memory');
  const url = database.url;
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'constellation-bench-memory-')), 'broker.log');
  let broker: ChildProcess | undefined;
  let sampler: RssSampler | undefined;
  const fakes: FakeTesSite[] = [];
  const rows: PhaseRow[] = [];
  try {
    await migrateBenchDatabase(url);
    const tokens: string[] = [];
    for (let i = 0; i <= LARGE_SUBMITTERS; i++) tokens.push((await insertSubmitter(url, `bench-${i}`)).token);
    const [small, ...large] = tokens;
    const admin = generateToken();
    const { base, child } = await startReadyBroker(
      () => ({
        DATABASE_URL: url,
        CONSTELLATION_SECRET_KEY: generateToken(),
        CONSTELLATION_ADMIN_TOKEN: admin,
        CONSTELLATION_PROBE_SECONDS: '1',
      }),
      logFile,
    );
    broker = child;
    const pid = child.pid as number;
    sampler = new RssSampler(pid);
    fakes.push(await startFakeTesSite(), await startFakeTesSite());
    const open = await registerTesSite(base, admin, fakes[0]);
    const drained = await registerTesSite(base, admin, fakes[1]);
    await expectOk('drain', api(base, admin, 'POST', `/api/v1/sites/${drained.id}/drain`));
    const started = sampler.mark();
    process.stdout.write(`broker up, RSS ${(started.now / MIB).toFixed(0)} MiB\n`);

    const phase = async (name: string, run: () => Promise<Partial<PhaseRow> & { detail?: string }>) => {
      process.stdout.write(`${name}...\n`);
      sampler?.mark();
      const before = await placementSoFar(base);
      const t0 = Date.now();
      const extra = await run();
      const seconds = (Date.now() - t0) / 1000;
      const after = await placementSoFar(base);
      const { peak, now } = (sampler as RssSampler).mark();
      const rounds = after.count - before.count;
      rows.push({
        phase: name,
        seconds: Math.round(seconds * 10) / 10,
        peakRssMib: Math.round(peak / MIB),
        endRssMib: Math.round(now / MIB),
        placementRounds: rounds,
        placementMeanMs:
          rounds > 0 ? Math.round(((after.sum - before.sum) / rounds) * 10000) / 10 : undefined,
        detail: '',
        ...extra,
      });
    };

    const placementPhase = async (): Promise<Partial<PhaseRow>> => {
      const t0 = Date.now();
      const waits = await smallTaskWaits(base, small, open.slug);
      await sleep(Math.max(0, ROUND_SECONDS * 1000 - (Date.now() - t0)));
      return {
        smallWaitMeanMs: Math.round(waits.reduce((a, b) => a + b, 0) / waits.length),
        smallWaitMaxMs: Math.max(...waits),
        detail: `${SMALL_TASKS} small tasks placed`,
      };
    };

    await phase('placement, no large tasks queued', placementPhase);

    await phase(`queue ${TASKS} tasks of ${CONTENT_MIB} MiB inline content`, async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CREATE_CONCURRENCY }, async () => {
          while (next < TASKS) {
            const n = next++;
            const body = JSON.stringify(
              pinned(drained.slug, [{ path: '/in/data.txt', content: largeContent(n) }]),
            );
            await expectOk(
              'large create',
              api(base, large[n % large.length], 'POST', '/ga4gh/tes/v1/tasks', body),
            );
          }
        }),
      );
      return { detail: `${LARGE_SUBMITTERS} submitters, ${CREATE_CONCURRENCY} creates in flight` };
    });

    await phase(`placement, ${TASKS} large tasks queued`, placementPhase);

    for (const pageSize of [50, 400]) {
      await phase(`FULL list, page_size=${pageSize}`, async () => {
        let pages = 0;
        let bytes = 0;
        let largest = 0;
        let tasks = 0;
        for (const token of large) {
          let pageToken: string | undefined;
          do {
            const route = `/ga4gh/tes/v1/tasks?view=FULL&page_size=${pageSize}${pageToken ? `&page_token=${pageToken}` : ''}`;
            const res = await api(base, token, 'GET', route);
            if (res.status !== 200) throw new Error(`FULL page: ${res.status} ${res.text.slice(0, 300)}`);
            const body = JSON.parse(res.text) as { tasks: unknown[]; next_page_token?: string };
            const size = Buffer.byteLength(res.text);
            pages++;
            bytes += size;
            largest = Math.max(largest, size);
            tasks += body.tasks.length;
            pageToken = body.next_page_token;
          } while (pageToken !== undefined);
        }
        return {
          detail: `${pages} pages, ${tasks} tasks, ${(bytes / MIB).toFixed(0)} MiB, largest page ${(largest / MIB).toFixed(1)} MiB`,
        };
      });
    }

    await phase('quiet', async () => {
      await sleep(5000);
      return { detail: 'no requests; dispatch rounds go on' };
    });
  } finally {
    sampler?.stop();
    broker?.kill('SIGTERM');
    await Promise.all(fakes.map((f) => f.close()));
    await sleep(1000);
    await database.drop();
  }

  const peak = Math.round((sampler?.peakOverall() ?? 0) / MIB);
  const cell = (v: number | undefined) => (v === undefined ? '' : String(v));
  process.stdout.write(
    `\n${TASKS} large tasks of ${CONTENT_MIB} MiB; broker with one process on ${availableParallelism()} CPUs\n\n` +
      '| phase | s | peak RSS MiB | RSS after MiB | placement rounds | placement step mean ms | small task wait mean / max ms | detail |\n' +
      '|---|---:|---:|---:|---:|---:|---:|---|\n',
  );
  for (const r of rows) {
    const wait = r.smallWaitMeanMs === undefined ? '' : `${r.smallWaitMeanMs} / ${r.smallWaitMaxMs}`;
    process.stdout.write(
      `| ${r.phase} | ${r.seconds} | ${r.peakRssMib} | ${r.endRssMib} | ${cell(r.placementRounds)} | ${cell(r.placementMeanMs)} | ${wait} | ${r.detail} |\n`,
    );
  }
  const ok = peak <= BOUND_MIB;
  process.stdout.write(`\npeak RSS ${peak} MiB: ${ok ? 'within' : 'OVER'} the bound of ${BOUND_MIB} MiB\n`);
  if (WRITE_RESULTS) {
    mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      path.join(ROOT, 'bench', 'results', 'memory.json'),
      `${JSON.stringify({ tasks: TASKS, contentMib: CONTENT_MIB, cpus: availableParallelism(), boundMib: BOUND_MIB, peakRssMib: peak, rows }, null, 2)}\n`,
    );
  }
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:memory failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
