import { parseArgs } from 'node:util';
import { networkSites } from './network-sites';
import { SimSiteServer } from './sim-site-server';

const USAGE = `usage: npm run sim-site -- [--sites active|all|slug,slug] [--time-scale N] [--base-port P]
                           [--control-port P] [--seed N] [--error-rate R]`;

function fail(message: string): never {
  process.stderr.write(`sim-site: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function num(name: string, raw: string | undefined, fallback: number, min: number, integer = false): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    fail(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
  return n;
}

/** Serves the Network's endpoints as simulated TES sites until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      options: {
        sites: { type: 'string' },
        'time-scale': { type: 'string' },
        'base-port': { type: 'string' },
        'control-port': { type: 'string' },
        seed: { type: 'string' },
        'error-rate': { type: 'string' },
      },
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    fail((err as Error).message);
  }
  const seed = num('seed', values.seed, 1, 0, true);
  const timeScale = num('time-scale', values['time-scale'], 1, 0.001);
  const errorRate = num('error-rate', values['error-rate'], 0, 0);
  if (errorRate > 1) fail('--error-rate must be between 0 and 1');
  let sites;
  try {
    sites = networkSites(values.sites ?? 'active', seed);
  } catch (err) {
    fail((err as Error).message);
  }
  const server = await SimSiteServer.start({
    seed,
    basePort: num('base-port', values['base-port'], 0, 0, true),
    controlPort:
      values['control-port'] === undefined ? 0 : num('control-port', values['control-port'], 0, 0, true),
    sites: sites.map((s) => ({ ...s, timeScale, errorRate })),
  });
  for (const s of sites)
    process.stdout.write(`${s.slug.padEnd(22)} ${server.url(s.slug)}  ${s.cores} cores, speed ${s.speed}\n`);
  process.stdout.write(`control API: ${server.controlUrl}/sites\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
