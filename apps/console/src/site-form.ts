import type { FieldError } from './api';
import type { Site } from './types';

export type SiteKind = 'tes' | 'pulsar-rest' | 'pulsar-amqp';

/** The register form's fields, as typed (strings until sent). */
export interface SiteForm {
  slug: string;
  display_name: string;
  country: string;
  latitude: string;
  longitude: string;
  kind: SiteKind;
  url: string;
  pulsar_manager: string;
  max_concurrent_tasks: string;
  cores: string;
  memory_gib: string;
  per_task_cores: string;
  per_task_memory_gib: string;
  runtimes: string[];
  token: string;
  username: string;
  password: string;
}

export const EMPTY_SITE_FORM: SiteForm = {
  slug: '',
  display_name: '',
  country: '',
  latitude: '',
  longitude: '',
  kind: 'pulsar-rest',
  url: '',
  pulsar_manager: '',
  max_concurrent_tasks: '10',
  cores: '',
  memory_gib: '',
  per_task_cores: '',
  per_task_memory_gib: '',
  runtimes: ['docker'],
  token: '',
  username: '',
  password: '',
};

/** Which credential fields a kind takes: a Pulsar private token, or a TES bearer token or Basic pair, or AMQP user. */
export function credentialFields(kind: SiteKind): ('token' | 'username' | 'password')[] {
  if (kind === 'pulsar-rest') return ['token'];
  if (kind === 'pulsar-amqp') return ['username', 'password'];
  return ['token', 'username', 'password'];
}

/** The form field that shows an API error path (`capacity.totals.cores` → `cores`), or null for the form as a whole. */
export function fieldOf(path: string): keyof SiteForm | null {
  const map: Record<string, keyof SiteForm> = {
    'capacity.max_concurrent_tasks': 'max_concurrent_tasks',
    'capacity.totals.cores': 'cores',
    'capacity.totals.memory_gib': 'memory_gib',
    'capacity.per_task.cores': 'per_task_cores',
    'capacity.per_task.memory_gib': 'per_task_memory_gib',
    'credentials.token': 'token',
    'credentials.username': 'username',
    'credentials.password': 'password',
    credentials: 'token',
  };
  if (map[path]) return map[path];
  const head = path.replace(/\[\d+\]$/, '');
  if (head in EMPTY_SITE_FORM) return head as keyof SiteForm;
  return null;
}

/** API field errors grouped by form field; those no field shows are kept under `''` for the form's summary. */
export function errorsByField(errors: FieldError[]): Partial<Record<keyof SiteForm | '', string>> {
  const out: Partial<Record<keyof SiteForm | '', string>> = {};
  for (const e of errors) {
    const f = fieldOf(e.path) ?? '';
    const text = f === '' ? `${e.path}: ${e.reason}` : e.reason;
    out[f] = out[f] ? `${out[f]}; ${text}` : text;
  }
  return out;
}

type Parsed = { document: Record<string, unknown>; errors: FieldError[] };

/**
 * The site document the API takes (docs/providers.md), from the form. Only what cannot be sent at all is
 * checked here (a number field holding no number); every other rule is the API's, whose 400 lists them.
 */
export function toSiteDocument(f: SiteForm): Parsed {
  const errors: FieldError[] = [];
  const num = (value: string, path: string): number | undefined => {
    if (value.trim() === '') return undefined;
    const n = Number(value.trim().replace(',', '.'));
    if (!Number.isFinite(n)) {
      errors.push({ path, reason: 'must be a number' });
      return undefined;
    }
    return n;
  };
  const doc: Record<string, unknown> = {
    slug: f.slug.trim(),
    display_name: f.display_name.trim(),
    country: f.country.trim().toUpperCase(),
    kind: f.kind,
    runtimes: f.runtimes,
  };
  const lat = num(f.latitude, 'latitude');
  const lon = num(f.longitude, 'longitude');
  if (lat !== undefined) doc.latitude = lat;
  if (lon !== undefined) doc.longitude = lon;
  if (f.url.trim() !== '') doc.url = f.url.trim();
  if (f.kind !== 'tes' && f.pulsar_manager.trim() !== '') doc.pulsar_manager = f.pulsar_manager.trim();
  const capacity: Record<string, unknown> = {};
  const max = num(f.max_concurrent_tasks, 'capacity.max_concurrent_tasks');
  if (max !== undefined) capacity.max_concurrent_tasks = max;
  const totals: Record<string, number> = {};
  const cores = num(f.cores, 'capacity.totals.cores');
  const mem = num(f.memory_gib, 'capacity.totals.memory_gib');
  if (cores !== undefined) totals.cores = cores;
  if (mem !== undefined) totals.memory_gib = mem;
  if (Object.keys(totals).length > 0) capacity.totals = totals;
  const perTask: Record<string, number> = {};
  const ptCores = num(f.per_task_cores, 'capacity.per_task.cores');
  const ptMem = num(f.per_task_memory_gib, 'capacity.per_task.memory_gib');
  if (ptCores !== undefined) perTask.cores = ptCores;
  if (ptMem !== undefined) perTask.memory_gib = ptMem;
  if (Object.keys(perTask).length > 0) capacity.per_task = perTask;
  doc.capacity = capacity;
  const credentials: Record<string, string> = {};
  for (const k of credentialFields(f.kind)) if (f[k] !== '') credentials[k] = f[k];
  if (Object.keys(credentials).length > 0) doc.credentials = credentials;
  return { document: doc, errors };
}

/** The form filled from a stored site, for editing; credentials start empty (they are write-only). */
export function siteToForm(s: Site): SiteForm {
  const str = (n: number | null) => (n === null ? '' : String(n));
  return {
    ...EMPTY_SITE_FORM,
    slug: s.slug,
    display_name: s.display_name,
    country: s.country,
    latitude: str(s.latitude),
    longitude: str(s.longitude),
    kind: s.kind,
    url: s.url ?? '',
    pulsar_manager: s.pulsar_manager ?? '',
    max_concurrent_tasks: String(s.capacity.max_concurrent_tasks),
    cores: str(s.capacity.totals.cores),
    memory_gib: str(s.capacity.totals.memory_gib),
    per_task_cores: str(s.capacity.per_task.cores),
    per_task_memory_gib: str(s.capacity.per_task.memory_gib),
    runtimes: [...s.runtimes],
  };
}
