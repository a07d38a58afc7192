import { blockedReason, unmetRequirements } from './feasibility';
import { resolveResources } from './requirements';
import {
  DEFAULT_COST_MODEL,
  Requirement,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
} from './snapshot';
import { site, submitter, task } from './testing/fixtures';

function unmetOf(s: SiteSnapshot, t: TaskRequirement, sub: SubmitterSnapshot = submitter()): Requirement[] {
  return (unmetRequirements(s, t, resolveResources(t), sub) ?? []).map((u) => u.requirement);
}

describe('unmetRequirements', () => {
  it.each<{ name: string; s: Partial<SiteSnapshot>; t: Partial<TaskRequirement>; want: Requirement[] }>([
    { name: 'plain task on plain site', s: {}, t: {}, want: [] },
    { name: 'pending site is not judged', s: { adminState: 'pending' }, t: {}, want: ['admin_state'] },
    { name: 'disabled site is not judged', s: { adminState: 'disabled' }, t: {}, want: ['admin_state'] },
    { name: 'draining site is still feasible', s: { adminState: 'draining' }, t: {}, want: [] },
    { name: 'offline site is still feasible', s: { health: 'offline' }, t: {}, want: [] },
    { name: 'excluded by an earlier attempt', s: {}, t: { excludedSiteIds: ['a'] }, want: ['excluded'] },
    { name: 'other site excluded', s: {}, t: { excludedSiteIds: ['b'] }, want: [] },
    { name: 'pinned here', s: { slug: 'eu-pulsar-cz01' }, t: { pinnedSite: 'EU-Pulsar-CZ01' }, want: [] },
    {
      name: 'pinned elsewhere',
      s: { slug: 'eu-pulsar-cz01' },
      t: { pinnedSite: 'eu-pulsar-it01' },
      want: ['pinned_site'],
    },
    { name: 'zone by country code', s: { country: 'CZ' }, t: { zones: ['it', 'cz'] }, want: [] },
    { name: 'zone by slug', s: { slug: 'eu-pulsar-nemo' }, t: { zones: ['eu-pulsar-nemo'] }, want: [] },
    {
      name: 'zone mismatch',
      s: { country: 'DE', slug: 'de1' },
      t: { zones: ['FR', 'fr01'] },
      want: ['zone'],
    },
    { name: 'empty zones mean anywhere', s: {}, t: { zones: [] }, want: [] },
    {
      name: 'cores over the per-task maximum',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { cores: 8 } } },
      t: { cpuCores: 16 },
      want: ['cores'],
    },
    {
      name: 'cores equal to the per-task maximum',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { cores: 8 } } },
      t: { cpuCores: 8 },
      want: [],
    },
    {
      name: 'absent per-task maximum falls back to totals',
      s: { capacity: { maxConcurrentTasks: 10, totals: { cores: 4 } } },
      t: { cpuCores: 6 },
      want: ['cores'],
    },
    {
      name: 'per-task maximum wins over larger totals',
      s: { capacity: { maxConcurrentTasks: 10, totals: { cores: 64 }, perTask: { cores: 8 } } },
      t: { cpuCores: 9 },
      want: ['cores'],
    },
    { name: 'no limits published', s: {}, t: { cpuCores: 512, ramGb: 4000 }, want: [] },
    {
      name: 'default request is 3.8 GiB: too much for 3.5',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { memoryGib: 3.5 } } },
      t: {},
      want: ['memory'],
    },
    {
      name: 'default request is 3.8 GiB: fits 3.8',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { memoryGib: 3.8 } } },
      t: {},
      want: [],
    },
    {
      name: 'cores without memory get 3.8 GiB each',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { memoryGib: 15 } } },
      t: { cpuCores: 4 },
      want: ['memory'],
    },
    {
      name: 'ram_gb is decimal: 32 GB fits 30 GiB',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { memoryGib: 30 } } },
      t: { ramGb: 32 },
      want: [],
    },
    {
      name: 'ram_gb is decimal: 33 GB does not fit 30 GiB',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { memoryGib: 30 } } },
      t: { ramGb: 33 },
      want: ['memory'],
    },
    {
      name: 'disk over the per-task maximum',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { diskGib: 100 } } },
      t: { diskGb: 200 },
      want: ['disk'],
    },
    { name: 'GPU asked, site says nothing about GPUs', s: {}, t: { gpus: 1 }, want: ['gpus'] },
    {
      name: 'GPU within the per-task maximum',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { gpus: 1 } } },
      t: { gpus: 1 },
      want: [],
    },
    {
      name: 'two GPUs over a one-GPU maximum',
      s: { capacity: { maxConcurrentTasks: 10, perTask: { gpus: 1 }, totals: { gpus: 8 } } },
      t: { gpus: 2 },
      want: ['gpus'],
    },
    {
      name: 'GPU type matches case-insensitively',
      s: { capacity: { maxConcurrentTasks: 10, totals: { gpus: 4, gpuType: 'A100' } } },
      t: { gpus: 1, gpuType: 'a100' },
      want: [],
    },
    {
      name: 'GPU type differs',
      s: { capacity: { maxConcurrentTasks: 10, totals: { gpus: 4, gpuType: 'V100' } } },
      t: { gpus: 1, gpuType: 'A100' },
      want: ['gpu_type'],
    },
    {
      name: 'GPU type asked, site declares none',
      s: { capacity: { maxConcurrentTasks: 10, totals: { gpus: 4 } } },
      t: { gpus: 1, gpuType: 'A100' },
      want: ['gpu_type'],
    },
    {
      name: 'Pulsar site with only none, not declaring run_images_on_host',
      s: { runtimes: ['none'] },
      t: {},
      want: ['runtime'],
    },
    {
      name: 'Pulsar site with only none, declaring it',
      s: { runtimes: ['none'], runImagesOnHost: true },
      t: {},
      want: [],
    },
    { name: 'Pulsar site with docker and none', s: { runtimes: ['docker', 'none'] }, t: {}, want: [] },
    { name: 'TES site chooses its own runtime', s: { kind: 'tes', runtimes: ['none'] }, t: {}, want: [] },
    {
      name: 'runtime missing',
      s: { runtimes: ['docker'] },
      t: { runtimes: ['singularity'] },
      want: ['runtime'],
    },
    {
      name: 'apptainer serves singularity',
      s: { runtimes: ['apptainer'] },
      t: { runtimes: ['singularity'] },
      want: [],
    },
    {
      name: 'any of several runtimes',
      s: { runtimes: ['none'], runImagesOnHost: true },
      t: { runtimes: ['docker', 'none'] },
      want: [],
    },
    {
      name: 'input scheme the site cannot fetch',
      s: {},
      t: { inputs: [{ url: 's3://bucket/x', sizeBytes: 1 }] },
      want: ['input_scheme'],
    },
    {
      name: 'input scheme wildcard',
      s: { schemes: { inputs: ['*'], outputs: [] } },
      t: { inputs: [{ url: 'S3://bucket/x', sizeBytes: 1 }] },
      want: [],
    },
    {
      name: 'content input has no scheme to check',
      s: { schemes: { inputs: [], outputs: [] } },
      t: { inputs: [{ sizeBytes: 10 }] },
      want: [],
    },
    {
      name: 'output scheme the site cannot push',
      s: {},
      t: { outputUrls: ['ftp://host/out'] },
      want: ['output_scheme'],
    },
    {
      name: 'every unmet requirement is listed',
      s: {
        adminState: 'disabled',
        runtimes: ['docker'],
        capacity: { maxConcurrentTasks: 1, perTask: { cores: 2 } },
      },
      t: { cpuCores: 4, runtimes: ['none'], pinnedSite: 'other' },
      want: ['admin_state', 'pinned_site', 'cores', 'runtime'],
    },
  ])('$name', ({ s, t, want }) => {
    expect(unmetOf(site('a', s), task(t))).toEqual(want);
  });

  it.each([
    { name: 'all sites allowed', allowed: [], want: [] },
    { name: 'this site allowed', allowed: ['b', 'a'], want: [] },
    { name: 'this site not allowed', allowed: ['b'], want: ['not_allowed'] },
  ])('submitter allowed sites: $name', ({ allowed, want }) => {
    expect(unmetOf(site('a'), task(), submitter({ allowedSiteIds: allowed }))).toEqual(want);
  });

  it('names the numbers in the detail', () => {
    const t = task({ cpuCores: 16 });
    const s = site('a', { capacity: { maxConcurrentTasks: 1, perTask: { cores: 8, memoryGib: 31 } } });
    expect(unmetRequirements(s, t, resolveResources(t), submitter())).toEqual([
      { requirement: 'cores', detail: 'asks 16, site allows 8' },
      { requirement: 'memory', detail: 'asks 60.8 GiB, site allows 31 GiB' },
    ]);
  });
});

describe('blockedReason', () => {
  it.each<{ name: string; s: Partial<SiteSnapshot>; unknownOk?: boolean; want: string | undefined }>([
    { name: 'active, up, room', s: {}, want: undefined },
    { name: 'draining takes no new tasks', s: { adminState: 'draining' }, want: 'draining' },
    { name: 'offline', s: { health: 'offline' }, want: 'offline' },
    { name: 'never probed', s: { health: 'unknown' }, want: 'unknown_health' },
    {
      name: 'never probed, allowed by the model',
      s: { health: 'unknown' },
      unknownOk: true,
      want: undefined,
    },
    { name: 'admission limit reached', s: { load: { running: 6, queued: 4 } }, want: 'full' },
    { name: 'one slot left', s: { load: { running: 6, queued: 3 } }, want: undefined },
  ])('$name', ({ s, unknownOk, want }) => {
    expect(
      blockedReason(site('a', s), { ...DEFAULT_COST_MODEL, placeOnUnknownHealth: unknownOk ?? false }),
    ).toBe(want);
  });
});
