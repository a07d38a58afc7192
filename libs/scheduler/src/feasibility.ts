import { ResolvedResources, urlScheme } from './requirements';
import {
  Blocked,
  CostModel,
  Runtime,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
  Unmet,
} from './snapshot';

/** Floating-point slack so that a GB request converted to GiB does not fail a limit it equals. */
const EPSILON = 1e-9;

function push(list: Unmet[] | undefined, unmet: Unmet): Unmet[] {
  if (list) {
    list.push(unmet);
    return list;
  }
  return [unmet];
}

function runtimeSatisfied(wanted: readonly Runtime[], offered: readonly Runtime[]): boolean {
  // Apptainer is Singularity renamed: images and bind semantics are the same.
  const canon = (r: Runtime): Runtime => (r === 'apptainer' ? 'singularity' : r);
  return wanted.some((w) => offered.some((o) => canon(o) === canon(w)));
}

/** A loop, not `some` with a callback: it runs for every site and task. */
function hasContainerRuntime(runtimes: readonly Runtime[]): boolean {
  for (const r of runtimes) if (r !== 'none') return true;
  return false;
}

function schemeAllowed(url: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  const scheme = urlScheme(url);
  return scheme !== null && allowed.includes(scheme);
}

function zoneMatches(zone: string, site: SiteSnapshot): boolean {
  const z = zone.trim();
  if (z.toLowerCase() === site.slug.toLowerCase()) return true;
  return z.length === 2 && z.toUpperCase() === site.country.toUpperCase();
}

/**
 * Everything that makes a site unable to ever run this task, in ARCHITECTURE.md's order. Returns undefined
 * when the site is feasible: most sites are, and placement must stay cheap at a thousand sites.
 */
export function unmetRequirements(
  site: SiteSnapshot,
  task: TaskRequirement,
  res: ResolvedResources,
  submitter: SubmitterSnapshot,
): Unmet[] | undefined {
  let unmet: Unmet[] | undefined;
  if (site.adminState !== 'active' && site.adminState !== 'draining') {
    unmet = push(unmet, { requirement: 'admin_state', detail: `site is ${site.adminState}` });
  }
  if (submitter.allowedSiteIds.length > 0 && !submitter.allowedSiteIds.includes(site.id)) {
    unmet = push(unmet, {
      requirement: 'not_allowed',
      detail: `submitter ${submitter.id} may not use this site`,
    });
  }
  if (task.excludedSiteIds && task.excludedSiteIds.includes(site.id)) {
    unmet = push(unmet, { requirement: 'excluded', detail: 'an earlier attempt failed here' });
  }
  if (task.pinnedSite !== undefined && task.pinnedSite.toLowerCase() !== site.slug.toLowerCase()) {
    unmet = push(unmet, { requirement: 'pinned_site', detail: `pinned to ${task.pinnedSite}` });
  }
  if (task.zones && task.zones.length > 0 && !task.zones.some((z) => zoneMatches(z, site))) {
    unmet = push(unmet, { requirement: 'zone', detail: `zones ${task.zones.join(',')}` });
  }

  const { perTask, totals } = site.capacity;
  const maxCores = perTask?.cores ?? totals?.cores;
  if (maxCores !== undefined && res.cores > maxCores + EPSILON) {
    unmet = push(unmet, { requirement: 'cores', detail: `asks ${res.cores}, site allows ${maxCores}` });
  }
  const maxMemory = perTask?.memoryGib ?? totals?.memoryGib;
  if (maxMemory !== undefined && res.memoryGib > maxMemory + EPSILON) {
    unmet = push(unmet, {
      requirement: 'memory',
      detail: `asks ${round2(res.memoryGib)} GiB, site allows ${maxMemory} GiB`,
    });
  }
  const maxDisk = perTask?.diskGib ?? totals?.diskGib;
  if (maxDisk !== undefined && res.diskGib > maxDisk + EPSILON) {
    unmet = push(unmet, {
      requirement: 'disk',
      detail: `asks ${round2(res.diskGib)} GiB, site allows ${maxDisk} GiB`,
    });
  }
  if (res.gpus > 0) {
    // A site that publishes nothing about GPUs has none as far as the broker can promise.
    const maxGpus = perTask?.gpus ?? totals?.gpus ?? 0;
    if (res.gpus > maxGpus) {
      unmet = push(unmet, { requirement: 'gpus', detail: `asks ${res.gpus}, site allows ${maxGpus}` });
    }
    if (res.gpuType !== undefined && (totals?.gpuType ?? '').toLowerCase() !== res.gpuType.toLowerCase()) {
      unmet = push(unmet, {
        requirement: 'gpu_type',
        detail: `asks ${res.gpuType}, site has ${totals?.gpuType ?? 'no declared type'}`,
      });
    }
  }
  if (task.runtimes && task.runtimes.length > 0 && !runtimeSatisfied(task.runtimes, site.runtimes)) {
    unmet = push(unmet, { requirement: 'runtime', detail: `needs ${task.runtimes.join(' or ')}` });
  }
  // Every TES executor names an image. A Pulsar site without a container runtime would run the commands on its
  // host instead, which only works where the images' commands are installed there: the site must say so. TES
  // sites choose their own runtime.
  if (site.kind !== 'tes' && !site.runImagesOnHost && !hasContainerRuntime(site.runtimes)) {
    unmet = push(unmet, {
      requirement: 'runtime',
      detail:
        "site has no container runtime (only 'none') and does not declare run_images_on_host: " +
        "the executors' images cannot run there",
    });
  }
  for (const input of task.inputs) {
    if (input.url !== undefined && !input.stagedByTask && !schemeAllowed(input.url, site.schemes.inputs)) {
      unmet = push(unmet, {
        requirement: 'input_scheme',
        detail: `cannot fetch ${urlScheme(input.url) ?? input.url}`,
      });
      break;
    }
  }
  for (const url of task.outputUrls ?? []) {
    if (!schemeAllowed(url, site.schemes.outputs)) {
      unmet = push(unmet, { requirement: 'output_scheme', detail: `cannot push ${urlScheme(url) ?? url}` });
      break;
    }
  }
  return unmet;
}

/** Why a feasible site cannot take a task right now, or undefined when it can. */
export function blockedReason(site: SiteSnapshot, model: CostModel): Blocked | undefined {
  if (site.adminState === 'draining') return 'draining';
  if (site.health === 'offline') return 'offline';
  if (site.health === 'unknown' && !model.placeOnUnknownHealth) return 'unknown_health';
  if (site.load.running + site.load.queued >= site.capacity.maxConcurrentTasks) return 'full';
  return undefined;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
