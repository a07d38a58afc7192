import {
  FieldError,
  FieldValidator,
  isPlainObject,
  validateDocument,
  ValidationFailedError,
} from '@constellation/common';
import { SiteCredentials } from './credential-cipher';
import { DataStoreDescription, mergeDataStoreDocument } from './data-store-document';
import { DataStoreDocumentDto } from './dto/data-store.dto';
import { SiteDocumentDto, SiteUpdateDto } from './dto/site.dto';
import { ADMIN_STATES, AdminState } from './registry.types';
import { mergeSiteDocument, SiteDescription } from './site-document';

/**
 * The registry as one document (docs/providers.md, "Registry as code"): every site and data store, keyed by
 * slug and name, without ids, timestamps, health or load, so that it can live in Git and be reviewed.
 * Site entries are the POST /sites document plus what only a whole-registry document needs: `state`,
 * `owner` (a principal name), `local_data_stores` (names instead of ids) and `credentials` as references
 * to secrets kept elsewhere.
 */
export const REGISTRY_DOCUMENT_VERSION = 1;

/** Keys of a site entry that are not part of the POST /sites document. */
const ENTRY_ONLY_KEYS = ['state', 'owner', 'local_data_stores', 'credentials'] as const;
/** Keys of an apply request besides the document itself (resolved secrets and options). */
const REQUEST_KEYS = ['site_credentials', 'dry_run', 'prune'] as const;
const DOCUMENT_KEYS = ['version', 'credentials_file', 'data_stores', 'sites'] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const ENV_RULES = { pattern: ENV_NAME, patternReason: 'must be an environment variable name' };
const LITERAL_CREDENTIAL =
  'must not be written in the document: name an environment variable (token_env, or username_env and ' +
  'password_env), or give the secret in the file named by credentials_file';

/** Where a site's secrets come from: environment variables read by the CLI, never the document. */
export interface CredentialReference {
  token_env?: string;
  username_env?: string;
  password_env?: string;
}

export interface DesiredSite {
  /** Position in `sites`, for error paths. */
  index: number;
  description: SiteDescription;
  /** Names of the data stores the site is local to (resolved to ids when applied). */
  localDataStores: string[];
  state: AdminState;
  /** Principal name; null keeps the current owner (or makes the applying admin the owner of a new site). */
  owner: string | null;
  /** Secrets to set; undefined keeps what the site has. */
  credentials: SiteCredentials | undefined;
}

export interface DesiredDataStore {
  index: number;
  description: DataStoreDescription;
}

export interface DesiredRegistry {
  sites: DesiredSite[];
  dataStores: DesiredDataStore[];
}

/** The options an apply request may carry in its body (the query string may set them too). */
export interface ApplyBodyOptions {
  dryRun?: boolean;
  prune?: boolean;
}

function prefixed(errors: FieldError[], prefix: string): FieldError[] {
  return errors.map((e) => ({ path: e.path ? `${prefix}.${e.path}` : prefix, reason: e.reason }));
}

/** Runs a merge that throws VALIDATION_FAILED, collecting its errors under `prefix` instead. */
function collect<T>(v: FieldValidator, prefix: string, merge: () => T): T | undefined {
  try {
    return merge();
  } catch (err) {
    if (!(err instanceof ValidationFailedError)) throw err;
    for (const e of prefixed(err.errors, prefix)) v.fail(e.path, e.reason);
    return undefined;
  }
}

function readCredentialReference(
  v: FieldValidator,
  x: unknown,
  path: string,
): CredentialReference | undefined {
  if (!isPlainObject(x))
    return v.fail(path, 'must be an object naming environment variables, e.g. { token_env: PULSAR_X_TOKEN }');
  const before = v.errors.length;
  for (const key of Object.keys(x)) {
    if (key === 'token' || key === 'username' || key === 'password')
      v.fail(`${path}.${key}`, LITERAL_CREDENTIAL);
    else if (key !== 'token_env' && key !== 'username_env' && key !== 'password_env') {
      v.fail(`${path}.${key}`, 'is not a known field (token_env, username_env, password_env)');
    } else v.string(x[key], `${path}.${key}`, ENV_RULES);
  }
  if (v.errors.length > before) return undefined;
  const ref = x as CredentialReference;
  if (ref.token_env !== undefined && (ref.username_env !== undefined || ref.password_env !== undefined)) {
    return v.fail(path, 'must name either token_env, or username_env and password_env, not both');
  }
  if ((ref.username_env === undefined) !== (ref.password_env === undefined)) {
    return v.fail(
      `${path}.${ref.username_env === undefined ? 'username_env' : 'password_env'}`,
      'is required with username_env and password_env',
    );
  }
  if (ref.token_env === undefined && ref.username_env === undefined) {
    return v.fail(path, 'must name token_env, or username_env and password_env');
  }
  return ref;
}

/** The secrets sent beside the document (`site_credentials: { <slug>: { token } }`), checked as POST /sites does. */
function readSiteCredentials(v: FieldValidator, x: unknown): Map<string, SiteCredentials> {
  const out = new Map<string, SiteCredentials>();
  if (x === undefined || x === null) return out;
  if (!isPlainObject(x)) {
    v.fail('site_credentials', 'must be an object of site slug to { token } or { username, password }');
    return out;
  }
  for (const [slug, c] of Object.entries(x)) {
    const errors = validateDocument(SiteUpdateDto, { credentials: c });
    if (errors.length > 0 || !isPlainObject(c)) {
      for (const e of prefixed(errors, 'site_credentials'))
        v.fail(e.path.replace('site_credentials.credentials', `site_credentials.${slug}`), e.reason);
      if (!isPlainObject(c)) v.fail(`site_credentials.${slug}`, 'must be an object');
      continue;
    }
    out.set(slug, c as SiteCredentials);
  }
  return out;
}

function readDataStores(v: FieldValidator, x: unknown): DesiredDataStore[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) {
    v.fail('data_stores', 'must be a list of data stores');
    return [];
  }
  const out: DesiredDataStore[] = [];
  const seen = new Set<string>();
  x.forEach((entry: unknown, index) => {
    const path = `data_stores[${index}]`;
    if (!isPlainObject(entry)) return v.fail(path, 'must be an object');
    const errors = validateDocument(DataStoreDocumentDto, entry);
    if (errors.length > 0) {
      for (const e of prefixed(errors, path)) v.fail(e.path, e.reason);
      return;
    }
    const description = collect(v, path, () =>
      mergeDataStoreDocument(entry as unknown as DataStoreDocumentDto),
    );
    if (description === undefined) return;
    if (seen.has(description.name)) return v.fail(`${path}.name`, 'is listed twice');
    seen.add(description.name);
    out.push({ index, description });
  });
  return out;
}

function readSite(
  v: FieldValidator,
  entry: unknown,
  index: number,
  storeNames: Set<string>,
  secrets: Map<string, SiteCredentials>,
): DesiredSite | undefined {
  const path = `sites[${index}]`;
  if (!isPlainObject(entry)) return v.fail(path, 'must be an object');
  const rest: Record<string, unknown> = { ...entry };
  for (const key of ENTRY_ONLY_KEYS) delete rest[key];
  const before = v.errors.length;
  if (rest.local_data_store_ids !== undefined) {
    v.fail(
      `${path}.local_data_store_ids`,
      'is not used in a registry document: list data store names in local_data_stores',
    );
    delete rest.local_data_store_ids;
  }
  for (const e of prefixed(validateDocument(SiteDocumentDto, rest), path)) v.fail(e.path, e.reason);
  const state = entry.state === undefined ? 'active' : v.oneOf(entry.state, `${path}.state`, ADMIN_STATES);
  const owner =
    entry.owner === undefined || entry.owner === null
      ? null
      : (v.string(entry.owner, `${path}.owner`, { min: 1, max: 200 }) ?? null);
  const stores =
    entry.local_data_stores === undefined || entry.local_data_stores === null
      ? []
      : v.array(
          entry.local_data_stores,
          `${path}.local_data_stores`,
          (name, p) => {
            const s = v.string(name, p, { min: 1, max: 200 });
            if (s !== undefined && !storeNames.has(s))
              return v.fail(p, 'names no data store of the document');
            return s;
          },
          { unique: true },
        );
  const reference =
    entry.credentials === undefined || entry.credentials === null
      ? undefined
      : readCredentialReference(v, entry.credentials, `${path}.credentials`);
  if (v.errors.length > before) return undefined;
  const merged = collect(v, path, () => mergeSiteDocument(rest as unknown as SiteDocumentDto));
  if (merged === undefined) return undefined;
  const slug = merged.description.slug;
  const secret = secrets.get(slug);
  if (reference !== undefined && secret === undefined) {
    const names = Object.values(reference).join(' and ');
    return v.fail(
      `${path}.credentials`,
      `names ${names}, which the broker does not read: send the values in site_credentials.${slug} ` +
        '(npm run cli -- registry apply reads them from the environment and does so)',
    );
  }
  return {
    index,
    description: merged.description,
    localDataStores: stores ?? [],
    state: state ?? 'active',
    owner,
    credentials: secret,
  };
}

/**
 * Checks a registry document (as a parsed JSON/YAML value) and returns what it asks for, or throws one
 * VALIDATION_FAILED naming every problem by path (`sites[3].url`); each entry is checked by the same document
 * classes and merge rules as POST /sites and POST /data-stores.
 */
export function readRegistryDocument(body: unknown): DesiredRegistry & ApplyBodyOptions {
  if (!isPlainObject(body))
    throw new ValidationFailedError([{ path: '', reason: 'must be an object with sites and data_stores' }]);
  const v = new FieldValidator();
  for (const key of Object.keys(body)) {
    if (
      !(DOCUMENT_KEYS as readonly string[]).includes(key) &&
      !(REQUEST_KEYS as readonly string[]).includes(key)
    ) {
      v.fail(key, `is not a known field (${[...DOCUMENT_KEYS, ...REQUEST_KEYS].join(', ')})`);
    }
  }
  if (body.version !== undefined && body.version !== REGISTRY_DOCUMENT_VERSION) {
    v.fail('version', `must be ${REGISTRY_DOCUMENT_VERSION}`);
  }
  if (body.credentials_file !== undefined)
    v.string(body.credentials_file, 'credentials_file', { min: 1, max: 1024 });
  const dryRun = body.dry_run === undefined ? undefined : v.boolean(body.dry_run, 'dry_run');
  const prune = body.prune === undefined ? undefined : v.boolean(body.prune, 'prune');
  const secrets = readSiteCredentials(v, body.site_credentials);
  const dataStores = readDataStores(v, body.data_stores);
  const storeNames = new Set(dataStores.map((d) => d.description.name));
  const sites: DesiredSite[] = [];
  if (body.sites !== undefined && body.sites !== null && !Array.isArray(body.sites)) {
    v.fail('sites', 'must be a list of sites');
  } else {
    const slugs = new Set<string>();
    ((body.sites as unknown[] | undefined) ?? []).forEach((entry, index) => {
      const site = readSite(v, entry, index, storeNames, secrets);
      if (site === undefined) return;
      if (slugs.has(site.description.slug)) return v.fail(`sites[${index}].slug`, 'is listed twice');
      slugs.add(site.description.slug);
      sites.push(site);
    });
    for (const slug of secrets.keys()) {
      if (!slugs.has(slug) && v.errors.length === 0)
        v.fail(`site_credentials.${slug}`, 'names no site of the document');
    }
  }
  v.throwIfInvalid();
  return { sites, dataStores, dryRun, prune };
}
