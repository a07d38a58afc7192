import { FieldValidator } from '@constellation/common';
import { SiteCredentials } from './credential-cipher';
import { SiteCredentialsDto, SitePerTaskDto, SiteTotalsDto, SiteUpdateDto } from './dto/site.dto';
import { DEFAULT_AMQP_MANAGER, Runtime, SiteKind } from './registry.types';
import { checkCoordinates, mergePlace } from './place';

export interface ResourceTotals {
  cores: number | null;
  memoryGib: number | null;
  gpus: number | null;
  gpuType: string | null;
  diskGib: number | null;
}

export interface PerTaskMaxima {
  cores: number | null;
  memoryGib: number | null;
  gpus: number | null;
  diskGib: number | null;
}

export interface SiteCapacity {
  maxConcurrentTasks: number;
  totals: ResourceTotals;
  perTask: PerTaskMaxima;
}

/** A site as its owner describes it: every field a provider may set, complete and validated. */
export interface SiteDescription {
  slug: string;
  displayName: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
  kind: SiteKind;
  url: string | null;
  pulsarManager: string | null;
  capacity: SiteCapacity;
  runtimes: Runtime[];
  /** With runtime `none`, whether the executors' commands may run on the host (their images unused). */
  runImagesOnHost: boolean;
  /** Absolute folder where Singularity/Apptainer cache pulled `docker://` images. */
  imageCacheDir: string | null;
  /** Absolute folder of unpacked images named `<name>:<tag>` (CVMFS), used before pulling. */
  cvmfsImageRoot: string | null;
  localDataStoreIds: string[];
  tags: Record<string, string>;
}

/** A validated document: the description plus what to do with the credentials (undefined: keep them). */
export interface SiteDocument {
  description: SiteDescription;
  credentials: SiteCredentials | null | undefined;
}

export const DEFAULT_MAX_CONCURRENT_TASKS = 10;
export const DEFAULT_RUNTIMES: Runtime[] = ['docker'];

const SCHEMES: Record<SiteKind, string[]> = {
  tes: ['http:', 'https:'],
  'pulsar-rest': ['http:', 'https:'],
  'pulsar-amqp': ['amqp:', 'amqps:'],
};

const EMPTY_TOTALS: ResourceTotals = {
  cores: null,
  memoryGib: null,
  gpus: null,
  gpuType: null,
  diskGib: null,
};
const EMPTY_PER_TASK: PerTaskMaxima = { cores: null, memoryGib: null, gpus: null, diskGib: null };

function defaultManager(kind: SiteKind): string | null {
  // Pulsar REST without a manager name means Pulsar's default manager (routes without /managers/{name}).
  return kind === 'pulsar-amqp' ? DEFAULT_AMQP_MANAGER : null;
}

/** Present in the body, even as null (PATCH: absent keeps the stored value, null clears it). */
function present(body: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(body, key);
}

function totalsOf(t: SiteTotalsDto | null): ResourceTotals {
  return {
    cores: t?.cores ?? null,
    memoryGib: t?.memory_gib ?? null,
    gpus: t?.gpus ?? null,
    gpuType: t?.gpu_type ?? null,
    diskGib: t?.disk_gib ?? null,
  };
}

function perTaskOf(t: SitePerTaskDto | null): PerTaskMaxima {
  return {
    cores: t?.cores ?? null,
    memoryGib: t?.memory_gib ?? null,
    gpus: t?.gpus ?? null,
    diskGib: t?.disk_gib ?? null,
  };
}

function credentialsOf(c: SiteCredentialsDto): SiteCredentials {
  const out: SiteCredentials = {};
  for (const key of ['token', 'username', 'password'] as const) if (c[key] !== undefined) out[key] = c[key];
  return out;
}

/**
 * Merges a site document whose fields passed their rules (SiteDocumentDto for POST, `current` absent;
 * SiteUpdateDto for PATCH, `current` the stored description) and checks what needs the whole site: the slug
 * is fixed, the url must suit the kind, per-task maxima within the totals, runtime-dependent fields. Returns
 * the complete result, or throws one VALIDATION_FAILED naming every broken rule.
 */
export function mergeSiteDocument(b: SiteUpdateDto, current?: SiteDescription): SiteDocument {
  const v = new FieldValidator();
  if (current !== undefined && present(b, 'slug') && b.slug !== current.slug) {
    v.fail('slug', 'cannot be changed (tasks pin sites by slug); register a new site instead');
  }
  const kind = b.kind ?? undefined;
  const url = present(b, 'url') ? b.url || null : undefined;
  const manager = present(b, 'pulsar_manager') ? b.pulsar_manager : undefined;
  const credentials = present(b, 'credentials')
    ? b.credentials === null || b.credentials === undefined
      ? null
      : credentialsOf(b.credentials)
    : undefined;
  const cap = b.capacity;
  const hostDir = (key: 'image_cache_dir' | 'cvmfs_image_root'): string | null | undefined =>
    present(b, key) ? b[key] || null : undefined;
  const imageCacheDir = hostDir('image_cache_dir');
  const cvmfsImageRoot = hostDir('cvmfs_image_root');

  const base: SiteDescription = current ?? {
    slug: '',
    displayName: '',
    country: '',
    latitude: null,
    longitude: null,
    kind: kind as SiteKind,
    url: null,
    pulsarManager: defaultManager(kind as SiteKind),
    capacity: {
      maxConcurrentTasks: DEFAULT_MAX_CONCURRENT_TASKS,
      totals: { ...EMPTY_TOTALS },
      perTask: { ...EMPTY_PER_TASK },
    },
    runtimes: [...DEFAULT_RUNTIMES],
    runImagesOnHost: false,
    imageCacheDir: null,
    cvmfsImageRoot: null,
    localDataStoreIds: [],
    tags: {},
  };
  const nextKind = kind ?? base.kind;
  const merged: SiteDescription = {
    slug: b.slug ?? base.slug,
    displayName: b.display_name ?? base.displayName,
    ...mergePlace(b, base),
    kind: nextKind,
    url: url === undefined ? base.url : url,
    // Absent on a kind change, or null: the new kind's default (see ARCHITECTURE.md, data model).
    pulsarManager:
      manager === undefined
        ? nextKind === base.kind
          ? base.pulsarManager
          : defaultManager(nextKind)
        : (manager ?? defaultManager(nextKind)),
    capacity: {
      maxConcurrentTasks: cap?.max_concurrent_tasks ?? base.capacity.maxConcurrentTasks,
      totals: cap && present(cap, 'totals') ? totalsOf(cap.totals ?? null) : base.capacity.totals,
      perTask: cap && present(cap, 'per_task') ? perTaskOf(cap.per_task ?? null) : base.capacity.perTask,
    },
    runtimes: b.runtimes ?? base.runtimes,
    runImagesOnHost: b.run_images_on_host ?? base.runImagesOnHost,
    imageCacheDir: imageCacheDir === undefined ? base.imageCacheDir : imageCacheDir,
    cvmfsImageRoot: cvmfsImageRoot === undefined ? base.cvmfsImageRoot : cvmfsImageRoot,
    // Ids are stored as PostgreSQL prints them, so that comparisons with data_store.id hold.
    localDataStoreIds: b.local_data_store_ids?.map((id) => id.toLowerCase()) ?? base.localDataStoreIds,
    tags: b.tags ?? base.tags,
  };
  checkConsistency(v, merged, { urlGiven: url !== undefined || kind !== undefined });
  v.throwIfInvalid();
  return { description: merged, credentials };
}

function checkConsistency(v: FieldValidator, s: SiteDescription, opts: { urlGiven: boolean }): void {
  checkCoordinates(v, s);
  if (s.url === null) {
    if (s.kind !== 'pulsar-amqp') v.fail('url', `is required for a ${s.kind} site (an http or https URL)`);
  } else if (opts.urlGiven) {
    checkUrl(v, s.url, s.kind);
  }
  if (s.kind === 'tes' && s.pulsarManager !== null) {
    v.fail('pulsar_manager', 'is only for pulsar-rest and pulsar-amqp sites');
  }
  const { totals, perTask } = s.capacity;
  for (const key of ['cores', 'memoryGib', 'gpus', 'diskGib'] as const) {
    const total = totals[key];
    const each = perTask[key];
    if (total !== null && each !== null && each > total) {
      const name = key === 'memoryGib' ? 'memory_gib' : key === 'diskGib' ? 'disk_gib' : key;
      v.fail(`capacity.per_task.${name}`, `must not exceed capacity.totals.${name} (${total})`);
    }
  }
  if (s.runImagesOnHost && !s.runtimes.includes('none')) {
    v.fail('run_images_on_host', "only applies to a site whose runtimes include 'none'");
  }
  const singularity = s.runtimes.includes('singularity') || s.runtimes.includes('apptainer');
  if (s.imageCacheDir !== null && !singularity) {
    v.fail('image_cache_dir', 'is used by the singularity and apptainer runtimes only; list one in runtimes');
  }
  if (s.cvmfsImageRoot !== null && !singularity) {
    v.fail(
      'cvmfs_image_root',
      'is used by the singularity and apptainer runtimes only; list one in runtimes',
    );
  }
  const hasGpus = (totals.gpus ?? 0) > 0 || (perTask.gpus ?? 0) > 0;
  if (totals.gpuType !== null && !hasGpus) {
    v.fail('capacity.totals.gpu_type', 'needs capacity.totals.gpus or capacity.per_task.gpus above 0');
  }
}

function checkUrl(v: FieldValidator, raw: string, kind: SiteKind): void {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    v.fail('url', 'must be an absolute URL');
    return;
  }
  const allowed = SCHEMES[kind];
  if (!allowed.includes(parsed.protocol)) {
    v.fail('url', `must use ${allowed.map((s) => s.slice(0, -1)).join(' or ')} for a ${kind} site`);
    return;
  }
  // Credentials go in `credentials`, which is encrypted and never returned; a URL is shown to everyone.
  if (parsed.username !== '' || parsed.password !== '') {
    v.fail('url', 'must not contain a user name or password; send them in credentials');
    return;
  }
  if (parsed.hash !== '') {
    v.fail('url', 'must not have a #fragment');
    return;
  }
  if (kind === 'pulsar-amqp' && (parsed.pathname === '' || parsed.pathname === '/')) {
    v.fail(
      'url',
      'must name the virtual host, e.g. amqps://mq.example.org/pulsar (%2F for the default vhost)',
    );
  }
  if (kind === 'pulsar-amqp' && parsed.search !== '') {
    v.fail('url', 'must not have a query string');
  } else if (parsed.search !== '') {
    // Pulsar REST authenticates with ?private_token=...; a token in the public url would be shown to everyone.
    v.fail(
      'url',
      'must not have a query string; send tokens (such as private_token) in credentials, which are encrypted and never shown',
    );
  }
}
