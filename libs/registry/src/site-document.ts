import { FieldValidator, isCountryCode, isPlainObject, isUuid } from '@constellation/common';
import { SiteCredentials } from './credential-cipher';
import { DEFAULT_AMQP_MANAGER, Runtime, RUNTIMES, SITE_KINDS, SiteKind } from './registry.types';

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

const FIELDS = [
  'slug',
  'display_name',
  'country',
  'latitude',
  'longitude',
  'kind',
  'url',
  'pulsar_manager',
  'credentials',
  'capacity',
  'runtimes',
  'run_images_on_host',
  'image_cache_dir',
  'cvmfs_image_root',
  'local_data_store_ids',
  'tags',
] as const;
const CAPACITY_FIELDS = ['max_concurrent_tasks', 'totals', 'per_task'] as const;
const TOTALS_FIELDS = ['cores', 'memory_gib', 'gpus', 'gpu_type', 'disk_gib'] as const;
const PER_TASK_FIELDS = ['cores', 'memory_gib', 'gpus', 'disk_gib'] as const;
const CREDENTIAL_FIELDS = ['token', 'username', 'password'] as const;

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MANAGER = /^[A-Za-z0-9_-]{1,64}$/;
const TAG_KEY = /^[A-Za-z0-9_.:/-]{1,64}$/;
const GPU_TYPE = /^[A-Za-z0-9_. -]{1,64}$/;
// Control characters would corrupt logs and the dashboard.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
/** An absolute host path that a bash word and an environment variable can carry as it is. */
// eslint-disable-next-line no-control-regex
const HOST_DIR = /^\/[^\u0000-\u001f\u007f:,]{0,1023}$/;
const MAX_TAGS = 64;
const MAX_LOCAL_STORES = 64;

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

/** Reads one optional-or-nullable field: undefined when absent, null when explicitly null. */
function present(body: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(body, key);
}

class SiteReader {
  constructor(readonly v: FieldValidator) {}

  totals(value: unknown, path: string): ResourceTotals | undefined {
    if (value === null) return { ...EMPTY_TOTALS };
    const obj = this.v.object(value, path, TOTALS_FIELDS);
    if (!obj) return undefined;
    return {
      cores: this.optional(obj.cores, `${path}.cores`, (x, p) =>
        this.v.integer(x, p, { min: 1, max: 10_000_000 }),
      ),
      memoryGib: this.optional(obj.memory_gib, `${path}.memory_gib`, (x, p) =>
        this.v.number(x, p, { min: 0, exclusiveMin: true, max: 1e9 }),
      ),
      gpus: this.optional(obj.gpus, `${path}.gpus`, (x, p) =>
        this.v.integer(x, p, { min: 0, max: 1_000_000 }),
      ),
      gpuType: this.optional(obj.gpu_type, `${path}.gpu_type`, (x, p) =>
        this.v.string(x, p, {
          pattern: GPU_TYPE,
          patternReason: 'must be 1 to 64 letters, digits, spaces, dots, dashes or underscores',
        }),
      ),
      diskGib: this.optional(obj.disk_gib, `${path}.disk_gib`, (x, p) =>
        this.v.number(x, p, { min: 0, exclusiveMin: true, max: 1e12 }),
      ),
    };
  }

  perTask(value: unknown, path: string): PerTaskMaxima | undefined {
    if (value === null) return { ...EMPTY_PER_TASK };
    const obj = this.v.object(value, path, PER_TASK_FIELDS);
    if (!obj) return undefined;
    return {
      cores: this.optional(obj.cores, `${path}.cores`, (x, p) =>
        this.v.integer(x, p, { min: 1, max: 1_000_000 }),
      ),
      memoryGib: this.optional(obj.memory_gib, `${path}.memory_gib`, (x, p) =>
        this.v.number(x, p, { min: 0, exclusiveMin: true, max: 1e9 }),
      ),
      gpus: this.optional(obj.gpus, `${path}.gpus`, (x, p) => this.v.integer(x, p, { min: 0, max: 1024 })),
      diskGib: this.optional(obj.disk_gib, `${path}.disk_gib`, (x, p) =>
        this.v.number(x, p, { min: 0, exclusiveMin: true, max: 1e12 }),
      ),
    };
  }

  credentials(value: unknown, path: string): SiteCredentials | null | undefined {
    if (value === null) return null;
    const obj = this.v.object(value, path, CREDENTIAL_FIELDS);
    if (!obj) return undefined;
    const out: SiteCredentials = {};
    for (const key of CREDENTIAL_FIELDS) {
      if (obj[key] === undefined) continue;
      const s = this.v.string(obj[key], `${path}.${key}`, { min: 1, max: 4096 });
      if (s !== undefined) out[key] = s;
    }
    const before = this.v.errors.length;
    if (obj.token !== undefined && (obj.username !== undefined || obj.password !== undefined)) {
      this.v.fail(path, 'must hold either token, or username and password, not both');
    } else if ((obj.username === undefined) !== (obj.password === undefined)) {
      this.v.fail(
        obj.username === undefined ? `${path}.username` : `${path}.password`,
        'is required with username and password',
      );
    } else if (obj.token === undefined && obj.username === undefined) {
      this.v.fail(path, 'must hold token, or username and password');
    }
    return this.v.errors.length === before ? out : undefined;
  }

  tags(value: unknown, path: string): Record<string, string> | undefined {
    if (!isPlainObject(value)) return this.v.fail(path, 'must be an object of strings');
    const entries = Object.entries(value);
    if (entries.length > MAX_TAGS) return this.v.fail(path, `must have at most ${MAX_TAGS} tags`);
    const out: Record<string, string> = {};
    let ok = true;
    for (const [key, tag] of entries) {
      if (!TAG_KEY.test(key)) {
        ok =
          this.v.fail(`${path}.${key}`, 'must have a key of 1 to 64 letters, digits or . _ : / -') ?? false;
        continue;
      }
      const s = this.v.string(tag, `${path}.${key}`, {
        max: 256,
        pattern: PRINTABLE,
        patternReason: 'must not contain control characters',
      });
      if (s === undefined) ok = false;
      else out[key] = s;
    }
    return ok ? out : undefined;
  }

  optional<T>(value: unknown, path: string, read: (x: unknown, p: string) => T | undefined): T | null {
    if (value === undefined || value === null) return null;
    return read(value, path) ?? null;
  }
}

/**
 * Validates a site document (POST: `current` absent; PATCH: `current` is the stored description) and
 * returns the complete result, or throws one VALIDATION_FAILED naming every bad field.
 */
export function readSiteDocument(body: unknown, current?: SiteDescription): SiteDocument {
  const v = new FieldValidator();
  const r = new SiteReader(v);
  const doc = v.object(body, '', FIELDS);
  if (!doc) v.throwIfInvalid();
  const b = doc as Record<string, unknown>;
  const creating = current === undefined;

  if (creating) {
    for (const key of ['slug', 'display_name', 'country', 'kind'] as const) v.required(b, key, key);
  } else if (present(b, 'slug') && b.slug !== current.slug) {
    v.fail('slug', 'cannot be changed (tasks pin sites by slug); register a new site instead');
  }

  const slug =
    b.slug == null
      ? undefined
      : v.string(b.slug, 'slug', {
          pattern: SLUG,
          patternReason:
            'must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit',
        });
  const displayName =
    b.display_name == null
      ? undefined
      : v.string(b.display_name, 'display_name', {
          min: 1,
          max: 200,
          pattern: PRINTABLE,
          patternReason: 'must not contain control characters',
        });
  let country: string | undefined;
  if (b.country !== undefined && b.country !== null) {
    const c = v.string(b.country, 'country');
    if (c !== undefined) {
      if (isCountryCode(c)) country = c;
      else v.fail('country', 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE');
    }
  } else if (!creating && b.country === null) v.fail('country', 'is required');
  if (!creating && b.display_name === null) v.fail('display_name', 'is required');
  if (!creating && b.kind === null) v.fail('kind', 'is required');

  const latitude = present(b, 'latitude')
    ? b.latitude === null
      ? null
      : v.number(b.latitude, 'latitude', { min: -90, max: 90 })
    : undefined;
  const longitude = present(b, 'longitude')
    ? b.longitude === null
      ? null
      : v.number(b.longitude, 'longitude', { min: -180, max: 180 })
    : undefined;
  const kind = b.kind == null ? undefined : v.oneOf(b.kind, 'kind', SITE_KINDS);
  const url = present(b, 'url')
    ? b.url === null || b.url === ''
      ? null
      : v.string(b.url, 'url', { max: 2048 })
    : undefined;
  const manager = present(b, 'pulsar_manager')
    ? b.pulsar_manager === null
      ? null
      : v.string(b.pulsar_manager, 'pulsar_manager', {
          pattern: MANAGER,
          patternReason: 'must be 1 to 64 letters, digits, - or _',
        })
    : undefined;
  const credentials = present(b, 'credentials') ? r.credentials(b.credentials, 'credentials') : undefined;

  let capacityIn: { max?: number; totals?: ResourceTotals; perTask?: PerTaskMaxima } = {};
  if (present(b, 'capacity') && b.capacity !== null) {
    const cap = v.object(b.capacity, 'capacity', CAPACITY_FIELDS);
    if (cap) {
      capacityIn = {
        max:
          cap.max_concurrent_tasks == null
            ? undefined
            : v.integer(cap.max_concurrent_tasks, 'capacity.max_concurrent_tasks', {
                min: 1,
                max: 1_000_000,
              }),
        totals: present(cap, 'totals') ? r.totals(cap.totals, 'capacity.totals') : undefined,
        perTask: present(cap, 'per_task') ? r.perTask(cap.per_task, 'capacity.per_task') : undefined,
      };
    }
  } else if (b.capacity === null) {
    v.fail('capacity', 'must be an object');
  }
  const runtimes = present(b, 'runtimes')
    ? v.array(b.runtimes, 'runtimes', (x, p) => v.oneOf(x, p, RUNTIMES), { min: 1, unique: true })
    : undefined;
  const runImagesOnHost = present(b, 'run_images_on_host')
    ? v.boolean(b.run_images_on_host, 'run_images_on_host')
    : undefined;
  const hostDir = (key: 'image_cache_dir' | 'cvmfs_image_root'): string | null | undefined =>
    !present(b, key)
      ? undefined
      : b[key] === null || b[key] === ''
        ? null
        : v.string(b[key], key, {
            pattern: HOST_DIR,
            patternReason: "must be an absolute path on the site's hosts, without ':' or ','",
          });
  const imageCacheDir = hostDir('image_cache_dir');
  const cvmfsImageRoot = hostDir('cvmfs_image_root');
  const localDataStoreIds = present(b, 'local_data_store_ids')
    ? v.array(
        b.local_data_store_ids,
        'local_data_store_ids',
        (x, p) =>
          typeof x === 'string' && isUuid(x) ? x.toLowerCase() : v.fail(p, 'must be a data store id (UUID)'),
        { max: MAX_LOCAL_STORES, unique: true },
      )
    : undefined;
  const tags = present(b, 'tags') ? r.tags(b.tags, 'tags') : undefined;

  // Field-level problems first: cross-field rules on half-read values would only add noise.
  v.throwIfInvalid();

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
    slug: slug ?? base.slug,
    displayName: displayName ?? base.displayName,
    country: country ?? base.country,
    latitude: latitude === undefined ? base.latitude : latitude,
    longitude: longitude === undefined ? base.longitude : longitude,
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
      maxConcurrentTasks: capacityIn.max ?? base.capacity.maxConcurrentTasks,
      totals: capacityIn.totals ?? base.capacity.totals,
      perTask: capacityIn.perTask ?? base.capacity.perTask,
    },
    runtimes: runtimes ?? base.runtimes,
    runImagesOnHost: runImagesOnHost ?? base.runImagesOnHost,
    imageCacheDir: imageCacheDir === undefined ? base.imageCacheDir : imageCacheDir,
    cvmfsImageRoot: cvmfsImageRoot === undefined ? base.cvmfsImageRoot : cvmfsImageRoot,
    localDataStoreIds: localDataStoreIds ?? base.localDataStoreIds,
    tags: tags ?? base.tags,
  };
  checkConsistency(v, merged, { urlGiven: url !== undefined || kind !== undefined });
  v.throwIfInvalid();
  return { description: merged, credentials };
}

function checkConsistency(v: FieldValidator, s: SiteDescription, opts: { urlGiven: boolean }): void {
  if ((s.latitude === null) !== (s.longitude === null)) {
    v.fail(s.latitude === null ? 'latitude' : 'longitude', 'is required when the other coordinate is given');
  }
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

/** The optional body of approve/drain/resume/disable: `{ "reason": "..." }`. */
export function readSiteActionBody(body: unknown): string | undefined {
  if (body === undefined || body === null || (isPlainObject(body) && Object.keys(body).length === 0)) {
    return undefined;
  }
  const v = new FieldValidator();
  const doc = v.object(body, '', ['reason']);
  const reason =
    doc && doc.reason !== undefined
      ? v.string(doc.reason, 'reason', {
          min: 1,
          max: 500,
          pattern: PRINTABLE,
          patternReason: 'must not contain control characters',
        })
      : undefined;
  v.throwIfInvalid();
  return reason;
}
