import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { networkSites, SimSiteServer, type NetworkSite } from '../../sim-site/src';
import { startBroker, type BrokerChild } from './broker-child';
import { BrokerApi } from './broker-api';
import { brokerStates, heldAtSites, siteSpread, tally, type Tally } from './demo-tally';
import { finalReport } from './final-report';
import { scheduleFailures } from './site-failures';
import { DemoUsageError, parseDemoArgs, USAGE, type DemoOptions } from './demo-options';
import { createPrincipals, registerGalaxyStores, registerSites } from './network-setup';
import { WorkloadReplay } from './workload-replay';

const say = (line: string) => process.stdout.write(`${line}\n`);

function chooseSites(selection: string, seed: number): NetworkSite[] {
  if (/^\d+$/.test(selection)) return networkSites('active', seed).slice(0, Number(selection));
  return networkSites(selection, seed);
}

/**
 * The demo owns its data folder: each run starts from an empty database, so sites, ports and counts are
 * this run's. A live database server left in it (a demo killed with SIGKILL) is refused, not deleted.
 */
function freshDataDir(dir: string): void {
  const pidFile = path.join(dir, 'pg', 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive)
      throw new DemoUsageError(
        `PostgreSQL ${pid} still runs in ${dir}: another demo is running (or was killed); stop it first`,
      );
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/** A clear message instead of a broker that exits at start-up because another program holds its port. */
function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () =>
      reject(new DemoUsageError(`port ${port} is in use (another broker?); choose another with --port`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function line(elapsed: number, t: Tally, sim: SimSiteServer): string {
  return (
    `demo ${elapsed.toFixed(0).padStart(4)}s: ${t.submitted} submitted, ${t.queued} queued, ${t.running} running, ` +
    `${t.complete} complete, ${t.failed} failed | ${siteSpread(sim)}`
  );
}

async function run(o: DemoOptions, stopping: { requested: boolean; wake: () => void }): Promise<number> {
  const sites = chooseSites(o.sites, o.seed);
  if (sites.length === 0) throw new DemoUsageError('--sites chose no site');
  for (const f of o.failures)
    if (!sites.some((s) => s.slug === f.slug))
      throw new DemoUsageError(`--fail-site ${f.slug} is not one of the demo's sites (${o.sites})`);
  await ensurePortFree(o.port);
  if (o.databaseUrl === undefined) freshDataDir(o.dataDir);

  const adminToken = randomBytes(32).toString('base64url');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const sim = await SimSiteServer.start({
      seed: o.seed,
      controlPort: 0,
      sites: sites.map((s) => ({ ...s, timeScale: o.timeScale, seed: o.seed * 1000 + sites.indexOf(s) })),
    });
    cleanups.push(() => sim.close());
    say(
      `demo: ${sites.length} simulated sites up (time x${o.timeScale}); starting the broker (log in ${o.dataDir}/broker.log)`,
    );
    const broker: BrokerChild = await startBroker({
      port: o.port,
      dataDir: o.dataDir,
      adminToken,
      databaseUrl: o.databaseUrl,
      secretKey: o.databaseUrl === undefined ? undefined : randomBytes(32).toString('hex'),
    });
    cleanups.push(() => broker.stop());
    if (stopping.requested) return 130;

    const api = new BrokerApi(broker.url);
    const principals = await createPrincipals(api, adminToken);
    const stores = await registerGalaxyStores(api, adminToken);
    await registerSites(api, adminToken, principals.providerToken, sites, sim, stores);
    say(`demo: broker   ${broker.url}  (API docs ${broker.url}/docs, TES ${broker.url}/ga4gh/tes/v1)`);
    say(`demo: admin token      ${adminToken}`);
    say(`demo: submitter token  ${principals.submitterToken}  (principal demo-galaxy)`);
    say(`demo: sites control    ${sim.controlUrl}/sites`);
    say(
      `demo: ${sites.length} sites and ${stores.length} Galaxy data stores registered; replaying the workload at ` +
        `${o.rate} tasks/s${o.durationSeconds ? ` for ${o.durationSeconds} s` : ' until Ctrl-C'}`,
    );

    const replay = new WorkloadReplay(api, principals.submitterToken, o.rate, sites, stores, o.seed);
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    let workloadOver = false;
    const failures = scheduleFailures(
      sim,
      o.failures,
      { elapsed, over: () => workloadOver || stopping.requested },
      say,
    );
    cleanups.push(async () => failures.cancel());
    replay.start();
    cleanups.push(() => replay.stop());

    const progress = async (checkSites: boolean) =>
      tally(
        [...replay.accepted.keys()],
        await brokerStates(api, principals.submitterToken, replay.accepted.keys()),
        checkSites ? heldAtSites(sim) : undefined,
      );
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        stopping.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });

    const end = o.durationSeconds === undefined ? Infinity : started + o.durationSeconds * 1000;
    while (!stopping.requested && Date.now() < end) {
      await sleep(Math.min(o.progressSeconds * 1000, Math.max(0, end - Date.now())));
      if (!stopping.requested) say(line(elapsed(), await progress(false), sim));
    }
    workloadOver = true;
    await replay.stop();
    if (stopping.requested) return 130;

    say(`demo: workload stopped after ${elapsed().toFixed(0)} s; draining (at most ${o.drainSeconds} s)`);
    const drainEnd = Date.now() + o.drainSeconds * 1000;
    let t = await progress(false);
    while (!stopping.requested && t.queued + t.running > 0 && Date.now() < drainEnd) {
      await sleep(Math.min(o.progressSeconds * 1000, Math.max(0, drainEnd - Date.now())));
      t = await progress(false);
      say(line(elapsed(), t, sim));
    }
    if (stopping.requested) return 130;
    // A task RUNNING at the broker but held by no site may be one the broker is about to move: look twice.
    let final = await progress(true);
    if (final.lost.length > 0) {
      await new Promise((r) => setTimeout(r, 5000));
      const again = await progress(true);
      final = { ...again, lost: again.lost.filter((id) => final.lost.includes(id)) };
    }
    const states = await brokerStates(api, principals.submitterToken, replay.accepted.keys());
    const refused = { count: replay.refused, last: replay.lastRefusal };
    for (const l of finalReport(final, states, failures.records, refused)) say(l);
    return final.lost.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

async function main(): Promise<void> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const stopping = { requested: false, wake: () => undefined as void };
  const onSignal = (signal: string) => {
    if (stopping.requested) return;
    stopping.requested = true;
    say(`demo: ${signal}: stopping the workload, the broker and the sites`);
    stopping.wake();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    process.exitCode = await run(options, stopping);
  } catch (err) {
    // After Ctrl-C a request cut short by the stopping broker is expected, not worth a stack trace.
    if (stopping.requested) {
      process.exitCode = 130;
      return;
    }
    process.stderr.write(
      `demo: ${err instanceof DemoUsageError ? err.message : String((err as Error).stack ?? err)}\n`,
    );
    process.exitCode = err instanceof DemoUsageError ? 2 : 1;
  }
}

void main();
