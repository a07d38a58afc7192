import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '@constellation/scheduler';
import { CAPACITY_SCENARIOS, loadNetwork, type Network, type SimSite } from '../../../bench/sim/network';
import { Draw } from '../../../bench/sim/random';
import { simDataDir } from './sim-data';

/** A site of the European Pulsar Network as the demo registers it and the sim-site server runs it. */
export interface NetworkSite {
  slug: string;
  displayName: string;
  country: string;
  latitude: number;
  longitude: number;
  /** [A] totals: nodes x per-task maximum (bench:sim's documented-nodes scenario). */
  cores: number;
  memoryGib: number;
  gpus: number;
  perTask: { cores: number; memoryGib: number; gpus: number };
  /** [A] no site publishes its speed: a seeded draw around the reference hardware. */
  speed: number;
  status: string;
}

interface RawEndpoint {
  slug: string;
  status: string;
  city: string | null;
  institution?: string | null;
}

/**
 * The endpoints of pulsar-network.json: `active` (the 17 in usegalaxy.eu's live config, the default), `all`
 * (26: with the test and historic endpoints), or a comma-separated list of slugs.
 */
export function networkSites(selection: string, seed: number, dataDir = simDataDir()): NetworkSite[] {
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'pulsar-network.json'), 'utf8')) as {
    pulsar_endpoints: (RawEndpoint & Record<string, unknown>)[];
  };
  // loadNetwork keeps the active endpoints; for the others the same rules apply, so they go through it too.
  const everyone: Network = loadNetwork(dataDir, { includeInactive: true });
  const meta = new Map(raw.pulsar_endpoints.map((e) => [e.slug, e]));
  let chosen: SimSite[];
  if (selection === 'active') chosen = everyone.sites.filter((s) => meta.get(s.slug)?.status === 'active');
  else if (selection === 'all') chosen = everyone.sites;
  else {
    const wanted = selection.split(',').map((s) => s.trim());
    const unknown = wanted.filter((w) => !meta.has(w));
    if (unknown.length > 0)
      throw new Error(`unknown site(s) ${unknown.join(', ')}; see bench/sim/data/pulsar-network.json`);
    chosen = wanted.map((w) => everyone.sites.find((s) => s.slug === w) as SimSite);
  }
  const totals = CAPACITY_SCENARIOS.find((c) => c.name === 'documented-nodes');
  if (!totals) throw new Error('documented-nodes scenario missing');
  const draw = new Draw(mulberry32(seed));
  return chosen.map((s) => {
    const m = meta.get(s.slug) as RawEndpoint;
    const t = totals.totals(s);
    const place = [m.city, m.institution].filter(Boolean).join(', ');
    return {
      slug: s.slug,
      displayName: place ? `${s.slug} (${place})`.slice(0, 200) : s.slug,
      country: s.country,
      latitude: s.latitude,
      longitude: s.longitude,
      cores: t.cores,
      memoryGib: t.memoryGib,
      gpus: t.gpus,
      perTask: s.perTask,
      speed: Math.round(draw.lognormal(1, 0.25) * 100) / 100,
      status: m.status,
    };
  });
}
