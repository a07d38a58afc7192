/**
 * `npm run bench:sim`: drives the real scheduler (@constellation/scheduler) over the European Pulsar
 * Network's model and a Galaxy workload in virtual time, for every policy, capacity scenario, utilisation
 * and seed; prints the tables, and with --write-results writes bench/results/sim.json and
 * bench/results/sim-turnaround.svg.
 * BENCH_SEEDS and BENCH_WORKERS override the seed count (default 5) and the worker processes (default 2);
 * BENCH_SCENARIOS limits the run to the named scenarios (see `selectedScenarios`); BENCH_TAKE_BACK gives `ect`
 * the broker's take-back of tasks stuck in a site queue (see TAKE_BACK).
 */
import { mulberry32, POLICY_NAMES, PolicyName, RunTimeEstimator } from '@constellation/scheduler';
import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  CAPACITY_SCENARIOS,
  CAPITALS,
  COLOCATION_KM,
  DEFAULT_NODES,
  EOSC_COUNTRY,
  loadNetwork,
} from './network';
import { placementsPerSecond } from './placement-rate';
import { turnaroundSvg } from './plot';
import { Draw, mean } from './random';
import {
  FAILURE,
  LINK_SIGMA,
  LOCALITY_FILL,
  LOCALITY_WINDOW_S,
  MAX_ATTEMPTS,
  QUOTA_SHARE,
  RunResult,
  runSimulation,
  SPEED_RANGE,
  TRACK_S,
} from './simulator';
import { parseTakeBack } from './take-back-setting';
import { ARRIVALS, generateTrace, meanCoreSeconds, SUBMITTER_WEIGHTS, TRANSFER_NOISE_SIGMA } from './trace';
import { KRAKEN_DB_GB, loadWorkload, selfCheck } from './workload';

const UTILISATIONS = [0.5, 0.7, 0.9];
const SEEDS = Number(process.env.BENCH_SEEDS ?? 5);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const HORIZON_S = 86_400;
const DEFAULT_SCENARIO = { capacity: 'documented-nodes', utilisation: 0.7 };
const RESULTS_DIR = path.join(__dirname, '..', 'results');
/** BENCH_LOCALITY_PRICE=1 publishes each site's locality price to the policies (off by default; see the docs). */
const LOCALITY_PRICE = process.env.BENCH_LOCALITY_PRICE === '1';
/**
 * `ect` takes back tasks stuck in a site queue (docs/scheduling.md, "Taking back a task stuck in a site
 * queue") with the broker's defaults, as the broker does (CONSTELLATION_TAKE_BACK, on by default);
 * BENCH_TAKE_BACK=off compares without it, BENCH_TAKE_BACK=factor:floorS:marginS[:maxTakeBacks] tries another
 * setting. The baselines model brokers without it and never get it.
 */
const TAKE_BACK = parseTakeBack(process.env.BENCH_TAKE_BACK ?? 'on');

/** A scenario's name in the tables: `documented-nodes@0.7`, with ` warm` for the warm-history run. */
const scenarioName = (capacity: string, utilisation: number, warm: boolean): string =>
  `${capacity}@${utilisation}${warm ? ' warm' : ''}`;

/**
 * BENCH_SCENARIOS: a comma-separated list of scenario names as the tables print them (`documented-nodes@0.7`,
 * `documented-nodes@0.7 warm`, `equal-sites@0.5`), to iterate on a few; every scenario when unset. Targets
 * are only judged when the default scenario is among them.
 */
function selectedScenarios(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const known = [
    ...CAPACITY_SCENARIOS.flatMap((c) => UTILISATIONS.map((u) => scenarioName(c.name, u, false))),
    scenarioName(DEFAULT_SCENARIO.capacity, DEFAULT_SCENARIO.utilisation, true),
  ];
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new Error(
      `BENCH_SCENARIOS names unknown scenario(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${known.join(', ')}`,
    );
  return new Set(names);
}

interface Unit {
  capacity: number;
  utilisation: number;
  seed: number;
  coreSeconds: number;
  /**
   * Warm history: the broker's estimator first learns from a whole day of another trace (same policy), as
   * a running network's has; otherwise it starts empty, as a new network's does (cold start).
   */
  warm: boolean;
}

/** Seed offset of the warm-up day's trace: a different day from the one measured. */
const WARM_UP_SEED_OFFSET = 1000;

interface UnitResult {
  unit: Unit;
  tasks: number;
  rejected: number;
  results: Record<PolicyName, RunResult>;
}

function runUnit(unit: Unit): UnitResult {
  const network = loadNetwork();
  const workload = loadWorkload();
  const capacity = CAPACITY_SCENARIOS[unit.capacity];
  const trace = generateTrace(
    workload,
    network,
    capacity,
    unit.utilisation,
    HORIZON_S,
    unit.seed,
    unit.coreSeconds,
  );
  const warmUp = unit.warm
    ? generateTrace(
        workload,
        network,
        capacity,
        unit.utilisation,
        HORIZON_S,
        unit.seed + WARM_UP_SEED_OFFSET,
        unit.coreSeconds,
      )
    : undefined;
  const results = {} as Record<PolicyName, RunResult>;
  for (const policy of POLICY_NAMES) {
    const common = {
      network,
      capacity,
      policy,
      seed: unit.seed,
      horizonS: HORIZON_S,
      toolCount: workload.tools.length,
      localityPrice: LOCALITY_PRICE,
      estimator: new RunTimeEstimator(),
      takeBack: policy === 'ect' ? TAKE_BACK : undefined,
    };
    if (warmUp) runSimulation({ ...common, trace: warmUp });
    results[policy] = runSimulation({ ...common, trace });
  }
  return { unit, tasks: trace.tasks.length, rejected: trace.rejected, results };
}

async function runAll(units: Unit[]): Promise<UnitResult[]> {
  if (WORKERS <= 1) return units.map(runUnit);
  const out: UnitResult[] = [];
  let next = 0;
  const worker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(__filename, ['--worker'], {
        execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
      });
      const feed = (): void => {
        if (next >= units.length) {
          child.send('done');
          return;
        }
        child.send(units[next++]);
      };
      child.on('message', (m: UnitResult) => {
        out.push(m);
        process.stdout.write('.');
        feed();
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
      feed();
    });
  await Promise.all(Array.from({ length: WORKERS }, worker));
  process.stdout.write('\n');
  return out;
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function assumptions(): Record<string, string> {
  return {
    sites:
      'the active pulsar_endpoints of pulsar-network.json (17 endpoints), kind pulsar-amqp, all runtimes singularity',
    site_totals: CAPACITY_SCENARIOS.map((c) => `${c.name}: ${c.description}`).join('; '),
    default_nodes: `${DEFAULT_NODES} nodes where the data gives none (pulsar-deployment default exec_node_count)`,
    admission: 'max_concurrent_tasks = the site total cores (one task per core)',
    placeholder_locations: `null coordinates take the country capital (${Object.keys(CAPITALS).join(', ')}); the EOSC EU Node, with no country, is placed in ${EOSC_COUNTRY} (Brussels)`,
    colocation: `a store and a site within ${COLOCATION_KM} km are local: their traffic is not WAN and takes no time`,
    bandwidth:
      'per transfer 1 Gbit/s / (1 + km/1000) after 4 round trips at 200,000 km/s (the broker model); the truth multiplies the time by a hidden per-site factor (ln sigma ' +
      `${LINK_SIGMA}) and a per-task factor (ln sigma ${TRANSFER_NOISE_SIGMA}); no sharing between transfers`,
    site_speed: `true speed U(${SPEED_RANGE[0]}, ${SPEED_RANGE[1]}) per site and seed, hidden; the broker learns it from completions`,
    wan_bytes:
      'input bytes staged to, and output bytes returned from, a site not local to the submitting Galaxy',
    outputs: 'output = input x 0.5 for mapping, x 0.01 for qc, x 1 otherwise',
    site_scheduler:
      'HTCondor-like: any queued job that fits the free cores, memory and GPUs starts, in queue order',
    failure: `${FAILURE.siteId} fails at ${FAILURE.atS / 3600} h for ${FAILURE.downS / 3600} h; the broker sees it after ${FAILURE.detectS} s (3 probes), recovery after one probe; tasks lost there go back to the queue with the site excluded (max ${MAX_ATTEMPTS} attempts)`,
    submitters: `Galaxy servers as submitters and stores, weights ${Object.entries(SUBMITTER_WEIGHTS)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; each may hold ${QUOTA_SHARE * 100} % of the network's admission slots`,
    arrivals: `compound Poisson batches of 1 + Geometric(mean ${ARRIVALS.meanExtraJobsPerBatch}) jobs of one tool, diurnal 1 +/- ${ARRIVALS.diurnalAmplitude} peaking ${ARRIVALS.peakHour}:00, one training burst a day at ${ARRIVALS.trainingHour}:00 (${ARRIVALS.trainingUsers} users x 1 + Geometric(mean ${ARRIVALS.trainingMeanExtraJobs}) jobs of one tool within ${ARRIVALS.trainingWindowS / 60} min); rate set so offered core-seconds on reference hardware = utilisation x network cores; ${HORIZON_S / 3600} h of arrivals, then drained`,
    tools: `EU tool mix without ingest; tools outside the table are text utilities; TPV rules at the drawn input size; kraken2 database ${KRAKEN_DB_GB} GB; run-time proxies as in workload.ts`,
    waiting_order:
      "fair share between submitters; within one, earliest due first, due = arrival + the broker's expected run time at arrival (failed-over tasks first)",
    take_back: TAKE_BACK
      ? `ect only: every ${TRACK_S} s a task queued at its site (not started) longer than max(${TAKE_BACK.factor} x the wait placement expected, ${TAKE_BACK.floorS} s) is placed again as if it had left; it moves when another site promises completion more than ${TAKE_BACK.marginS} s sooner than staying (its queue wait there at least the time already waited), at most ${TAKE_BACK.maxTakeBacks} times per task`
      : 'off (BENCH_TAKE_BACK=off: ect as a broker with CONSTELLATION_TAKE_BACK=false)',
    locality_price: LOCALITY_PRICE
      ? `on: each site local to a store gets a price (bytes per core-second) from the last ${LOCALITY_WINDOW_S / 3600} h of that store's submissions, filling ${LOCALITY_FILL * 100} % of the site's core-seconds with the densest`
      : 'off (BENCH_LOCALITY_PRICE=1 turns it on)',
    broker_knowledge:
      "policies see requested resources, declared input sizes, the broker's own load bookkeeping, and what the broker's own estimator (RunTimeEstimator, @constellation/scheduler, the code that places real tasks) learns from completions: per-tool regression of ln run time on ln input size (outliers clipped), per tool and site once it has 5 runs there, per-site speed (shrunk log-ratio to the tool model), throughput (cores / mean core-weighted run time), median queue and run times; never true run times. Every scenario starts with no history (cold); the default one is also run warm, after a day of another trace",
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const network = loadNetwork();
  const workload = loadWorkload();
  const assume = assumptions();
  console.log('Constellation bench:sim: scheduler simulation over the European Pulsar Network model\n');
  console.log('Assumptions (what the data does not give):');
  for (const [k, v] of Object.entries(assume)) console.log(`  - ${k}: ${v}`);

  const check = selfCheck(workload, new Draw(mulberry32(2024)));
  console.log('\nGenerator self-check, per tool with measured run times (median must be within 10 %):');
  for (const c of check.perTool) {
    console.log(
      `  ${c.tool.padEnd(28)} median ${fmt(c.wantMedian, 1).padStart(7)} -> ${fmt(c.gotMedian, 1).padStart(7)}   p90 ${fmt(c.wantP90).padStart(6)} -> ${fmt(c.gotP90).padStart(6)}${c.input === 'small' ? '' : ' (size-conditioned)'}`,
    );
  }
  console.log(`  per-tool check: ${check.perToolOk ? 'PASS' : 'FAIL'}`);
  console.log(
    `  usegalaxy.org mix of the tools with data (${fmt(check.orgCoverage * 100, 1)} % of .org jobs): ` +
      check.orgMix
        .map(
          (q) =>
            `${q.quantile} ${fmt(q.generated)} s vs published ${fmt(q.published)} s (x${q.ratio.toFixed(2)})`,
        )
        .join(', '),
  );
  if (!check.perToolOk)
    throw new Error('the workload generator does not reproduce the published per-tool run times');

  const coreSeconds = meanCoreSeconds(workload);
  const only = selectedScenarios(process.env.BENCH_SCENARIOS);
  // bench/results hold the whole benchmark: a partial run must not replace them.
  if (only !== undefined && process.argv.includes('--write-results'))
    throw new Error('--write-results needs every scenario: unset BENCH_SCENARIOS');
  const units: Unit[] = [];
  for (let c = 0; c < CAPACITY_SCENARIOS.length; c++) {
    for (const utilisation of UTILISATIONS) {
      const isDefault =
        CAPACITY_SCENARIOS[c].name === DEFAULT_SCENARIO.capacity &&
        utilisation === DEFAULT_SCENARIO.utilisation;
      for (const warm of isDefault ? [false, true] : [false]) {
        if (only !== undefined && !only.has(scenarioName(CAPACITY_SCENARIOS[c].name, utilisation, warm)))
          continue;
        for (let seed = 1; seed <= SEEDS; seed++)
          units.push({ capacity: c, utilisation, seed, coreSeconds, warm });
      }
    }
  }
  console.log(
    `\nMean job: ${fmt(coreSeconds)} core-seconds on reference hardware. Running ${units.length} traces x ${POLICY_NAMES.length} policies on ${WORKERS} worker(s)`,
  );
  const unitResults = await runAll(units);

  interface PolicyRow {
    policy: PolicyName;
    mean_turnaround_s: number;
    p95_turnaround_s: number;
    mean_wait_s: number;
    wan_bytes: number;
    failed_over: number;
    lost: number;
    spread: number;
    /** Median |ln(estimated / true run time)| of the run-time estimate placement used (mean over seeds). */
    run_estimate_error: number;
  }
  interface ScenarioRow {
    name: string;
    default: boolean;
    capacity: string;
    utilisation: number;
    totalCores: number;
    policies: PolicyRow[];
  }
  const scenarios: ScenarioRow[] = [];
  const tasksPer: Record<string, number> = {};
  for (let c = 0; c < CAPACITY_SCENARIOS.length; c++) {
    const cap = CAPACITY_SCENARIOS[c];
    const totalCores = network.sites.reduce((a, s) => a + cap.totals(s).cores, 0);
    for (const [utilisation, warm] of UTILISATIONS.flatMap((u) => [
      [u, false] as const,
      [u, true] as const,
    ])) {
      const runs = unitResults.filter(
        (u) => u.unit.capacity === c && u.unit.utilisation === utilisation && u.unit.warm === warm,
      );
      if (runs.length === 0) continue;
      const name = scenarioName(cap.name, utilisation, warm);
      tasksPer[name] = mean(runs.map((r) => r.tasks));
      const policies = POLICY_NAMES.map((policy) => {
        const rs = runs.map((r) => r.results[policy]);
        return {
          policy: policy as PolicyName,
          mean_turnaround_s: Math.round(mean(rs.map((r) => r.meanTurnaroundS)) * 10) / 10,
          p95_turnaround_s: Math.round(mean(rs.map((r) => r.p95TurnaroundS)) * 10) / 10,
          mean_wait_s: Math.round(mean(rs.map((r) => r.meanWaitS)) * 10) / 10,
          wan_bytes: Math.round(mean(rs.map((r) => r.wanBytes))),
          failed_over: Math.round(mean(rs.map((r) => r.failedOver)) * 10) / 10,
          lost: rs.reduce((a, r) => a + r.lost, 0),
          spread: mean(rs.map((r) => r.utilisationSpread)),
          run_estimate_error: Math.round(mean(rs.map((r) => r.runEstimateError)) * 100) / 100,
        };
      });
      scenarios.push({
        name,
        default:
          !warm && cap.name === DEFAULT_SCENARIO.capacity && utilisation === DEFAULT_SCENARIO.utilisation,
        capacity: cap.name,
        utilisation,
        totalCores,
        policies,
      });
    }
  }

  for (const s of scenarios) {
    console.log(
      `\nScenario ${s.name}${s.default ? ' (default)' : ''}: ${s.totalCores} cores, ${fmt(tasksPer[s.name])} tasks per seed, means over ${SEEDS} seeds`,
    );
    console.log(
      '| policy | mean turnaround s | p95 turnaround s | mean queue wait s | WAN GB | utilisation spread (sd, pp) | failed over | lost | run estimate error (median abs ln) |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of s.policies) {
      console.log(
        `| ${p.policy} | ${fmt(p.mean_turnaround_s)} | ${fmt(p.p95_turnaround_s)} | ${fmt(p.mean_wait_s)} | ${fmt(p.wan_bytes / 1e9)} | ${fmt(p.spread * 100, 1)} | ${fmt(p.failed_over, 1)} | ${p.lost} | ${fmt(p.run_estimate_error, 2)} |`,
      );
    }
  }

  const pps100 = placementsPerSecond(100);
  const pps1000 = placementsPerSecond(1000);
  console.log(
    `\nScheduler cost (default policy, one core): ${fmt(pps100.wall)} placements/s at 100 sites, ${fmt(pps1000.wall)} at 1,000 sites; per second of CPU time ${fmt(pps100.cpu)} and ${fmt(pps1000.cpu)}`,
  );

  const def = scenarios.find((s) => s.default);
  if (def === undefined) {
    console.log(`\nTargets not judged: BENCH_SCENARIOS leaves out the default scenario.`);
    return;
  }
  const of = (s: ScenarioRow, p: string): PolicyRow => s.policies.find((x) => x.policy === p)!;
  const ect = of(def, 'ect');
  const baselines = def.policies.filter((p) => p.policy !== 'ect');
  const best = baselines.reduce((a, b) => (b.mean_turnaround_s < a.mean_turnaround_s ? b : a));
  const rr = of(def, 'round-robin');
  const ll = of(def, 'least-loaded');
  const beaten = scenarios.flatMap((s) =>
    s.policies
      .filter((p) => p.policy !== 'ect' && p.mean_turnaround_s < of(s, 'ect').mean_turnaround_s)
      .map((p) => `${p.policy} on ${s.name}`),
  );
  const lost = scenarios.reduce((a, s) => a + s.policies.reduce((b, p) => b + p.lost, 0), 0);
  const targets = [
    [`mean turnaround <= 0.5 x round-robin`, ect.mean_turnaround_s / rr.mean_turnaround_s, 0.5],
    [
      `mean turnaround <= 0.8 x best baseline (${best.policy})`,
      ect.mean_turnaround_s / best.mean_turnaround_s,
      0.8,
    ],
    [`WAN bytes <= 0.5 x least-loaded`, ect.wan_bytes / ll.wan_bytes, 0.5],
  ] as const;
  console.log(`\nTargets (default scenario ${def.name}):`);
  for (const [label, ratio, limit] of targets) {
    console.log(`  ${ratio <= limit ? 'MET   ' : 'MISSED'} ${label}: ${ratio.toFixed(3)}`);
  }
  console.log(
    `  ${beaten.length === 0 ? 'MET   ' : 'MISSED'} no baseline better than ect on any scenario${beaten.length ? `: ${beaten.join(', ')}` : ''}`,
  );
  console.log(
    `  ${pps1000.wall >= 10_000 ? 'MET   ' : 'MISSED'} >= 10,000 placements/s at 1,000 sites: ${fmt(pps1000.wall)} (${fmt(pps1000.cpu)} per CPU second)`,
  );
  console.log(`  ${lost === 0 ? 'MET   ' : 'MISSED'} tasks lost: ${lost}`);

  const json = {
    workload: {
      source: 'galaxy-workload.json + pulsar-network.json (copies in bench/sim/data)',
      horizon_s: HORIZON_S,
      utilisations: UTILISATIONS,
      seeds: Array.from({ length: SEEDS }, (_, i) => i + 1),
      policies: POLICY_NAMES,
      tasks_per_seed: tasksPer,
      rejected_as_infeasible_per_seed: mean(unitResults.map((u) => u.rejected)),
      mean_core_seconds_per_job: Math.round(coreSeconds),
      sites: network.sites.map((s) => s.id),
      self_check: {
        per_tool_pass: check.perToolOk,
        per_tool: check.perTool,
        org_mix_coverage: check.orgCoverage,
        org_mix: check.orgMix,
      },
      assumptions: assume,
    },
    scenarios: scenarios.map((s) => ({
      name: s.name,
      default: s.default,
      capacity: s.capacity,
      utilisation: s.utilisation,
      policies: s.policies.map((p) => ({
        policy: p.policy,
        mean_turnaround_s: p.mean_turnaround_s,
        p95_turnaround_s: p.p95_turnaround_s,
        mean_wait_s: p.mean_wait_s,
        wan_bytes: p.wan_bytes,
        failed_over: p.failed_over,
        lost: p.lost,
      })),
    })),
    placements_per_s: { '100': Math.round(pps100.wall), '1000': Math.round(pps1000.wall) },
    placements_per_cpu_s: { '100': Math.round(pps100.cpu), '1000': Math.round(pps1000.cpu) },
  };
  // The committed results change only when asked: a run to look at figures leaves the work tree clean.
  if (!process.argv.includes('--write-results')) {
    console.log(
      `\nDone in ${fmt((Date.now() - started) / 1000, 1)} s; \`npm run bench:sim -- --write-results\` updates bench/results/`,
    );
    return;
  }
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'sim.json'), JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'sim-turnaround.svg'),
    turnaroundSvg(
      scenarios.map((s) => ({
        name: s.name,
        policies: s.policies.map((p) => ({
          policy: p.policy,
          mean: p.mean_turnaround_s,
          p95: p.p95_turnaround_s,
        })),
      })),
      `bench:sim mean turnaround per policy (${SEEDS} seeds each)`,
    ),
  );
  console.log(
    `\nWrote bench/results/sim.json and bench/results/sim-turnaround.svg in ${fmt((Date.now() - started) / 1000, 1)} s`,
  );
}

if (process.argv.includes('--worker')) {
  process.on('message', (m: Unit | 'done') => {
    if (m === 'done') {
      process.disconnect();
      return;
    }
    process.send?.(runUnit(m));
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
