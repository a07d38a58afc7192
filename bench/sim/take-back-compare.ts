/**
 * One policy on one scenario, with take-back off and with each given setting, seed by seed, in one process:
 *
 *   npx ts-node --transpile-only -r tsconfig-paths/register bench/sim/take-back-compare.ts \
 *     documented-nodes@0.7 1,2,3 off 3:1800:300 [--policy ect] [--warm]
 *
 * A setting is factor:floorS:marginS[:maxTakeBacks] (see TakeBackSettings); `off` runs without take-back.
 * Prints per seed the mean turnaround, queue wait, WAN TB, take-backs and lost tasks, and the process's CPU
 * seconds per run (the machine is shared: CPU time moves less with the load than wall-clock).
 */
import { isPolicyName, PolicyName, RunTimeEstimator } from '@constellation/scheduler';
import { CAPACITY_SCENARIOS, loadNetwork } from './network';
import { mean } from './random';
import { RunResult, runSimulation } from './simulator';
import { parseTakeBack } from './take-back-setting';
import { generateTrace, meanCoreSeconds } from './trace';
import { loadWorkload } from './workload';

const HORIZON_S = 86_400;
/** The same offset run.ts uses for the warm-up day. */
const WARM_UP_SEED_OFFSET = 1000;

function parseScenario(name: string): { capacity: number; utilisation: number } {
  const [cap, util] = name.split('@');
  const capacity = CAPACITY_SCENARIOS.findIndex((c) => c.name === cap);
  const utilisation = Number(util);
  if (capacity < 0 || !(utilisation > 0 && utilisation <= 1))
    throw new Error(
      `scenario "${name}" is not <capacity>@<utilisation> with capacity one of ${CAPACITY_SCENARIOS.map((c) => c.name).join(', ')}`,
    );
  return { capacity, utilisation };
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const value = args[i + 1];
    args.splice(i, 2);
    return value;
  };
  const warm = args.includes('--warm');
  if (warm) args.splice(args.indexOf('--warm'), 1);
  const policyArg = flag('--policy') ?? 'ect';
  if (!isPolicyName(policyArg)) throw new Error(`--policy ${policyArg} is not a policy name`);
  const policy: PolicyName = policyArg;
  const [scenarioArg, seedsArg, ...settingArgs] = args;
  if (scenarioArg === undefined || seedsArg === undefined || settingArgs.length === 0)
    throw new Error('usage: take-back-compare.ts <scenario> <seeds, comma-separated> <setting>...');
  const { capacity: ci, utilisation } = parseScenario(scenarioArg);
  const seeds = seedsArg.split(',').map(Number);
  if (seeds.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`seeds "${seedsArg}" are not integers >= 1`);
  const settings = settingArgs.map((a) => ({ label: a, takeBack: parseTakeBack(a) }));

  const network = loadNetwork();
  const workload = loadWorkload();
  const capacity = CAPACITY_SCENARIOS[ci];
  const coreSeconds = meanCoreSeconds(workload);
  const rows = settings.map(() => [] as (RunResult & { cpuS: number })[]);
  for (const seed of seeds) {
    const trace = generateTrace(workload, network, capacity, utilisation, HORIZON_S, seed, coreSeconds);
    const warmUp = warm
      ? generateTrace(
          workload,
          network,
          capacity,
          utilisation,
          HORIZON_S,
          seed + WARM_UP_SEED_OFFSET,
          coreSeconds,
        )
      : undefined;
    settings.forEach(({ label, takeBack }, k) => {
      const cpu0 = process.cpuUsage();
      const common = {
        network,
        capacity,
        policy,
        seed,
        horizonS: HORIZON_S,
        toolCount: workload.tools.length,
        estimator: new RunTimeEstimator(),
        takeBack,
      };
      if (warmUp) runSimulation({ ...common, trace: warmUp });
      const r = runSimulation({ ...common, trace });
      const used = process.cpuUsage(cpu0);
      const cpuS = (used.user + used.system) / 1e6;
      rows[k].push({ ...r, cpuS });
      console.log(
        `${scenarioArg}${warm ? ' warm' : ''} seed ${seed} ${policy} ${label}: turnaround ${r.meanTurnaroundS.toFixed(1)} s, wait ${r.meanWaitS.toFixed(1)} s, WAN ${(r.wanBytes / 1e12).toFixed(2)} TB, taken back ${r.takenBack}, lost ${r.lost}, ${r.placements} placements, CPU ${cpuS.toFixed(1)} s`,
      );
    });
  }
  console.log(
    `\n| ${policy} on ${scenarioArg}${warm ? ' warm' : ''} | seeds ${seeds.join(' / ')} | mean | wait | WAN TB | taken back | lost |`,
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  settings.forEach(({ label }, k) => {
    const rs = rows[k];
    console.log(
      `| ${label} | ${rs.map((r) => r.meanTurnaroundS.toFixed(1)).join(' / ')} | ${mean(rs.map((r) => r.meanTurnaroundS)).toFixed(1)} | ${mean(rs.map((r) => r.meanWaitS)).toFixed(1)} | ${(mean(rs.map((r) => r.wanBytes)) / 1e12).toFixed(2)} | ${mean(rs.map((r) => r.takenBack)).toFixed(0)} | ${rs.reduce((a, r) => a + r.lost, 0)} |`,
    );
  });
}

main();
