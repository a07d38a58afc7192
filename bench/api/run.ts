/**
 * npm run bench:api — TES API throughput and latency against the running broker on a real PostgreSQL,
 * at 100,000 and 1,000,000 stored tasks, beside the ceiling measured in the same run (a bare node:http
 * server doing one INSERT per request on the same database). Load: autocannon on loopback, 32 connections.
 *
 * Env: DATABASE_URL (a server where it may create and drop a database; else an embedded PostgreSQL),
 * BENCH_SECONDS (per scenario, default 10), BENCH_SCALES (default 100000,1000000), CONSTELLATION_WORKERS
 * (the broker's server processes; unset, the broker's default of one). Here the database and the load
 * generator share the CPUs with the broker: a process per CPU (`auto`) raises throughput but has each one
 * wait its turn behind PostgreSQL, which lengthens the tail.
 *
 * The same bare server gives a ceiling for the list pages: the broker's single-page statement, one SELECT
 * per request, and nothing else. Like the bare INSERT it does not group requests, so the broker can pass
 * it; it shows what the database work of a page costs on the machine on the day of the run.
 *
 * Each row also gives the CPU steal of its measured run (from /proc/stat): on a virtual machine whose host
 * is shared, the share of time the hypervisor ran other guests instead. Where it is more than a few
 * percent, the run measured the neighbours as much as the broker.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { generateToken, hashToken } from '../../libs/auth/src/token-codec';
import { newId } from '@constellation/common';
import { encodePageToken } from '../../libs/tes/src/list-query';
import { migrateBenchDatabase, openBenchDatabase, sql } from '../support/bench-database';
import { TS_NODE_ARGS, tsNodeEnv } from '../../test/support/broker-process';
import { BROKER_ARGS } from '../support/bench-broker';
import { seedTasks } from './seed';

const ROOT = path.resolve(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Unrecorded load before each measured run, so the figures are of a warmed-up process (JIT, pools, caches). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const SCALES = (process.env.BENCH_SCALES ?? '100000,1000000').split(',').map(Number);
const CONNECTIONS = 32;
const WORKERS = process.env.CONSTELLATION_WORKERS ?? '1';
const LOG_DIR = mkdtempSync(path.join(tmpdir(), 'constellation-bench-logs-'));

interface Row {
  scale: number;
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Share of the CPU time the hypervisor gave to other guests during the measured run, in percent. */
  steal?: number;
}

/** The machine's CPU time counters in clock ticks (the `cpu` line of /proc/stat), or undefined off Linux. */
function cpuTicks(): { steal: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    return { steal: fields[7], total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Children log to a file, as a service logs to its journal: a pipe read by this busy load generator would
 * block the child's synchronous log writes and measure our reading speed instead of the broker.
 */
function start(cmd: string[], env: Record<string, string>, readyUrl?: string): Promise<ChildProcess> {
  const logFile = path.join(LOG_DIR, `${path.basename(cmd[cmd.length - 1])}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, cmd, {
    cwd: ROOT,
    env: tsNodeEnv({ ...process.env, ...env }),
    stdio: ['ignore', fd, fd],
  });
  const out = () => readFileSync(logFile, 'utf8').slice(-4000);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`child exited:\n${out()}`));
      if (Date.now() > deadline) return reject(new Error(`child not ready in 60 s:\n${out()}`));
      if (readyUrl) {
        try {
          if ((await fetch(readyUrl)).ok) return resolve(child);
        } catch {
          // not yet
        }
      } else if (out().includes('ready')) return resolve(child);
      setTimeout(poll, 200);
    };
    void poll();
  });
}

/** Vacuums and checkpoints the task tables so no maintenance falls inside the next measured runs. */
async function settle(url: string): Promise<void> {
  await sql(url, 'VACUUM (ANALYZE) task');
  await sql(url, 'VACUUM (ANALYZE) task_event');
  await sql(url, 'CHECKPOINT');
}

async function load(name: string, scale: number, opts: autocannon.Options): Promise<Row> {
  if (WARMUP_SECONDS > 0) await autocannon({ connections: CONNECTIONS, duration: WARMUP_SECONDS, ...opts });
  const before = cpuTicks();
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  const after = cpuTicks();
  const errors = result.errors + result.timeouts + result.non2xx;
  const row: Row = {
    scale,
    scenario: name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
  };
  if (before && after && after.total > before.total) {
    row.steal = Math.round((100 * (after.steal - before.steal)) / (after.total - before.total));
  }
  process.stdout.write(
    `  ${name.padEnd(24)} ${String(row.rps).padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  errors ${errors}  steal ${row.steal ?? '?'}%\n`,
  );
  return row;
}

/** The ceiling server's list scenarios: the broker's single-page statement, one per request, nothing else. */
const LIST_CEILING = { first: 'ceiling (bare SELECT) first page', deep: 'ceiling (bare SELECT) deep page' };
/** Which ceiling each scenario's throughput is compared with in the table. */
const CEILING_OF: Record<string, string> = {
  create: 'ceiling (bare INSERT)',
  'list first page (256)': LIST_CEILING.first,
  'list deep page (256)': LIST_CEILING.deep,
};

const GALAXY_TASK = JSON.stringify({
  name: 'Galaxy Job Execution',
  description: 'FastQC Read Quality reports',
  inputs: [
    {
      path: '/srv/galaxy/jobs/000/42/createfiles.sh',
      content: 'mkdir -p /srv/out && touch /srv/out/d.dat \n',
    },
    ...Array.from({ length: 4 }, (_, i) => ({
      url: `https://usegalaxy.eu/api/jobs/f2db41e1/files?job_key=0b7c&path=/srv/galaxy/objects/${i}.dat`,
      path: `/srv/galaxy/objects/${i}.dat`,
      type: 'FILE',
    })),
  ],
  executors: [
    {
      workdir: '/srv/galaxy/',
      image: 'python:3.9-slim',
      command: ['/bin/bash', '/srv/galaxy/jobs/000/42/createfiles.sh'],
    },
    {
      workdir: '/srv/galaxy/',
      image: 'quay.io/biocontainers/fastqc:0.11.9',
      command: ['/bin/bash', '/srv/galaxy/jobs/000/42/tool_script.sh'],
      env: { GALAXY_SLOTS: '1' },
    },
  ],
  volumes: ['/srv/galaxy/'],
});

async function main(): Promise<void> {
  const database = await openBenchDatabase('constellation_bench');
  const url = database.url;
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  try {
    await migrateBenchDatabase(url);
    const token = generateToken();
    const submitters = Array.from({ length: 10 }, () => newId());
    for (const [i, id] of submitters.entries()) {
      await sql(url, `INSERT INTO principal (id, name, role) VALUES ($1, $2, 'submitter')`, [
        id,
        `bench-${i}`,
      ]);
    }
    await sql(url, `INSERT INTO api_token (id, principal_id, token_hash) VALUES ($1, $2, $3)`, [
      newId(),
      submitters[0],
      hashToken(token),
    ]);

    const brokerPort = await freePort();
    const broker = `http://127.0.0.1:${brokerPort}`;
    children.push(
      await start(
        BROKER_ARGS,
        {
          DATABASE_URL: url,
          CONSTELLATION_SECRET_KEY: generateToken(),
          CONSTELLATION_ADMIN_TOKEN: generateToken(),
          PORT: String(brokerPort),
          LOG_LEVEL: 'info',
          CONSTELLATION_RATE_LIMIT: '100000000/minute',
          CONSTELLATION_WORKERS: WORKERS,
        },
        `${broker}/health/ready`,
      ),
    );
    const ceilingPort = await freePort();
    children.push(
      await start([...TS_NODE_ARGS, 'bench/api/ceiling-server.ts'], {
        DATABASE_URL: url,
        PORT: String(ceilingPort),
        BENCH_SUBMITTER_ID: submitters[1],
        BENCH_LIST_SUBMITTER_ID: submitters[0],
      }),
    );
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    for (const scale of SCALES) {
      process.stdout.write(`seeding to ${scale.toLocaleString('en')} tasks...\n`);
      await seedTasks(url, submitters, scale);
      const own = await sql<{ id: string }>(
        url,
        `SELECT id FROM task WHERE submitter_id = $1 ORDER BY id DESC`,
        [submitters[0]],
      );
      const sample = own
        .filter((_, i) => i % Math.max(1, Math.floor(own.length / 5000)) === 0)
        .map((r) => r.id);
      const middle = own[Math.floor(own.length / 2)].id;
      const deep = encodePageToken(middle);
      process.stdout.write(
        `scale ${scale.toLocaleString('en')} (this submitter owns ${own.length.toLocaleString('en')}):\n`,
      );
      let k = 0;
      const pick = () => sample[k++ % sample.length];
      // Autovacuum waking up on the fresh rows in the middle of a measured run would measure autovacuum.
      await settle(url);
      rows.push(
        await load('ceiling (bare INSERT)', scale, {
          url: `http://127.0.0.1:${ceilingPort}/`,
          method: 'POST',
          body: GALAXY_TASK,
        }),
      );
      rows.push(
        await load('create', scale, {
          url: `${broker}/ga4gh/tes/v1/tasks`,
          method: 'POST',
          headers,
          body: GALAXY_TASK,
        }),
      );
      await settle(url);
      for (const view of ['MINIMAL', 'BASIC', 'FULL']) {
        rows.push(
          await load(`get ${view}`, scale, {
            url: broker,
            headers,
            requests: [
              {
                method: 'GET',
                setupRequest: (r) => ({ ...r, path: `/ga4gh/tes/v1/tasks/${pick()}?view=${view}` }),
              },
            ],
          }),
        );
      }
      rows.push(await load('list first page (256)', scale, { url: `${broker}/ga4gh/tes/v1/tasks`, headers }));
      rows.push(
        await load('list deep page (256)', scale, {
          url: `${broker}/ga4gh/tes/v1/tasks?page_token=${deep}`,
          headers,
        }),
      );
      rows.push(await load(LIST_CEILING.first, scale, { url: `http://127.0.0.1:${ceilingPort}/` }));
      rows.push(
        await load(LIST_CEILING.deep, scale, { url: `http://127.0.0.1:${ceilingPort}/?before=${middle}` }),
      );
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await database.drop();
  }

  process.stdout.write(
    `\nbroker: CONSTELLATION_WORKERS=${WORKERS} on ${availableParallelism()} CPUs; ${CONNECTIONS} connections\n`,
  );
  process.stdout.write(
    '\n| stored tasks | scenario | req/s | p50 ms | p99 ms | errors | vs ceiling | CPU steal |\n|---:|---|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const r of rows) {
    const ceilingOf = CEILING_OF[r.scenario];
    const ceiling = rows.find((x) => x.scale === r.scale && x.scenario === ceilingOf);
    const ratio = ceiling ? `${(r.rps / ceiling.rps).toFixed(2)}x` : '';
    process.stdout.write(
      `| ${r.scale.toLocaleString('en')} | ${r.scenario} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} | ${ratio} | ${r.steal === undefined ? '' : `${r.steal}%`} |\n`,
    );
  }
  // The committed results change only when asked: a run to look at figures leaves the work tree clean.
  if (!process.argv.includes('--write-results')) {
    process.stdout.write('\n`npm run bench:api -- --write-results` updates bench/results/api.json\n');
    return;
  }
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(ROOT, 'bench', 'results', 'api.json'),
    `${JSON.stringify({ connections: CONNECTIONS, seconds: SECONDS, workers: WORKERS, cpus: availableParallelism(), rows }, null, 2)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
