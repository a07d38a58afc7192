import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml, YAMLParseError } from 'yaml';
import { FieldError, isPlainObject } from '@constellation/common';
import { ApplyResult, PlannedChange, readRegistryDocument, RegistryDocument } from '@constellation/registry';

// `registry export` and `registry apply`: the CLI side of registry as code (docs/providers.md). Against a
// remote broker they speak its REST API; locally they call the same service the endpoint calls.

/** How the commands reach the registry: the REST API of a broker, or the service in this process. */
export interface RegistryClient {
  export(): Promise<RegistryDocument>;
  apply(body: Record<string, unknown>, options: { dryRun: boolean; prune: boolean }): Promise<ApplyResult>;
}

/** A problem the operator must fix, printed as is (exit 1). */
export class RegistryCommandError extends Error {}

/** Validation errors of a document, each line naming the file, the entry and the field. */
export class DocumentErrors extends RegistryCommandError {}

const TIMEOUT_MS = 120_000;

/** The answer of a broker that refused the request, as the CLI prints it. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[],
  ) {
    super(message);
  }
}

export function remoteClient(baseUrl: string, token: string): RegistryClient {
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(new URL(route, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new RegistryCommandError(
        `cannot reach the broker at ${baseUrl}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new RegistryCommandError(
        `the broker at ${baseUrl} answered ${res.status} with a body that is not JSON`,
      );
    }
    if (!res.ok) {
      const e = isPlainObject(parsed) ? parsed : {};
      throw new ApiError(
        res.status,
        typeof e.code === 'string' ? e.code : `HTTP_${res.status}`,
        typeof e.message === 'string' ? e.message : `the broker answered ${res.status}`,
        Array.isArray(e.errors) ? (e.errors as FieldError[]) : [],
      );
    }
    return parsed;
  };
  return {
    export: async () => (await call('GET', 'api/v1/registry:export')) as RegistryDocument,
    apply: async (body, o) =>
      (await call('POST', `api/v1/registry:apply?dry_run=${o.dryRun}&prune=${o.prune}`, body)) as ApplyResult,
  };
}

export function formatDocument(doc: RegistryDocument, format: string): string {
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  // Plain scalars and block style: the form people write by hand and review in diffs.
  return stringifyYaml(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

function readStructured(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RegistryCommandError(
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both forms.
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const where =
      err instanceof YAMLParseError && err.linePos ? `:${err.linePos[0].line}:${err.linePos[0].col}` : '';
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new RegistryCommandError(`${file}${where}: not valid YAML or JSON: ${message}`);
  }
}

/** `sites[3].url` as `sites[3] (pulsar-it): url`, so that a reader finds the entry by its slug too. */
function describePath(doc: unknown, p: string): string {
  const m = /^(sites|data_stores)\[(\d+)\](?:\.(.*))?$/.exec(p);
  if (!m || !isPlainObject(doc)) return p || '(document)';
  const list = doc[m[1]];
  const entry = Array.isArray(list) ? (list[Number(m[2])] as unknown) : undefined;
  const key = isPlainObject(entry) ? entry[m[1] === 'sites' ? 'slug' : 'name'] : undefined;
  const label = typeof key === 'string' ? `${m[1]}[${m[2]}] (${key})` : `${m[1]}[${m[2]}]`;
  return m[3] === undefined ? label : `${label}: ${m[3]}`;
}

export function documentErrors(file: string, doc: unknown, errors: FieldError[]): DocumentErrors {
  const name = path.basename(file);
  return new DocumentErrors(
    errors.map((e) => `${name}: ${describePath(doc, e.path)}: ${e.reason}`).join('\n'),
  );
}

/**
 * The secrets the document refers to, by slug: `credentials: { token_env }` entries read from `env`, and
 * the entries of `credentials_file` (a path relative to the document). Neither ever enters the document.
 */
export function resolveCredentials(
  file: string,
  doc: Record<string, unknown>,
  env: Record<string, string | undefined>,
): { credentials: Record<string, Record<string, string>>; errors: FieldError[] } {
  const credentials: Record<string, Record<string, string>> = {};
  const errors: FieldError[] = [];
  if (typeof doc.credentials_file === 'string' && doc.credentials_file !== '') {
    const secretsFile = path.resolve(path.dirname(file), doc.credentials_file);
    const secrets = readStructured(secretsFile, 'credentials_file');
    if (!isPlainObject(secrets)) {
      errors.push({
        path: 'credentials_file',
        reason: `${doc.credentials_file} must map site slugs to { token } or { username, password }`,
      });
    } else {
      for (const [slug, c] of Object.entries(secrets)) credentials[slug] = c as Record<string, string>;
    }
  }
  const sites = Array.isArray(doc.sites) ? (doc.sites as unknown[]) : [];
  sites.forEach((entry, i) => {
    if (!isPlainObject(entry) || !isPlainObject(entry.credentials) || typeof entry.slug !== 'string') return;
    const resolved: Record<string, string> = {};
    for (const [key, field] of [
      ['token_env', 'token'],
      ['username_env', 'username'],
      ['password_env', 'password'],
    ]) {
      const name = entry.credentials[key];
      if (typeof name !== 'string') continue;
      const value = env[name];
      if (value === undefined || value === '') {
        errors.push({
          path: `sites[${i}].credentials.${key}`,
          reason: `environment variable ${name} is not set`,
        });
      } else resolved[field] = value;
    }
    if (Object.keys(resolved).length === 0) return;
    if (credentials[entry.slug] !== undefined) {
      errors.push({
        path: `sites[${i}].credentials`,
        reason: `site ${entry.slug} is also in credentials_file; give its secrets one way`,
      });
    }
    credentials[entry.slug] = resolved;
  });
  return { credentials, errors };
}

const SYMBOL: Record<PlannedChange['action'], string> = { create: '+', update: '~', drain: '!', remove: '-' };

function show(value: unknown): string {
  return value === null
    ? '(unset)'
    : typeof value === 'string' && value.startsWith('(')
      ? value
      : JSON.stringify(value);
}

/** The plan as a reader checks it before it is applied. */
export function formatPlan(result: ApplyResult, file: string): string {
  const lines: string[] = [];
  const label = (c: PlannedChange) => `${c.type === 'site' ? 'site' : 'data store'} ${c.name}`;
  for (const c of result.changes) {
    lines.push(`  ${SYMBOL[c.action]} ${c.action} ${label(c)}${c.note ? ` (${c.note})` : ''}`);
    for (const f of c.fields) lines.push(`      ${f.field}: ${show(f.from)} -> ${show(f.to)}`);
  }
  const { unlisted } = result;
  if (unlisted.sites.length > 0 || unlisted.data_stores.length > 0) {
    const names = [
      ...unlisted.data_stores.map((n) => `data store ${n}`),
      ...unlisted.sites.map((s) => `site ${s}`),
    ];
    lines.push(`  not in ${path.basename(file)}, kept (--prune removes them): ${names.join(', ')}`);
  }
  const s = result.summary;
  const counts = `${s.create} to create, ${s.update} to update, ${s.drain} to drain, ${s.remove} to remove`;
  if (result.changes.length === 0) {
    lines.unshift(`No changes: the registry matches ${path.basename(file)}.`);
  } else {
    lines.unshift(`Plan for ${path.basename(file)}: ${counts}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface RegistryCommand {
  verb: string | undefined;
  flags: Record<string, string | true>;
  env: Record<string, string | undefined>;
}

const sameChanges = (a: ApplyResult, b: ApplyResult): boolean =>
  JSON.stringify(a.changes) === JSON.stringify(b.changes);

/**
 * Plans, prints the plan, then applies it (unless a dry run or nothing to do). Should the registry change
 * between the two requests (another admin), the plan actually carried out is printed too.
 */
async function planAndApply(
  client: RegistryClient,
  body: Record<string, unknown>,
  options: { dryRun: boolean; prune: boolean },
  file: string,
  print: (text: string) => void,
): Promise<void> {
  const plan = await client.apply(body, { dryRun: true, prune: options.prune });
  print(formatPlan(plan, file));
  if (plan.changes.length === 0) return;
  if (options.dryRun) {
    print('Dry run: nothing was changed. Run without --dry-run to apply.\n');
    return;
  }
  const result = await client.apply(body, { dryRun: false, prune: options.prune });
  if (!sameChanges(plan, result)) {
    print(`The registry changed since the plan; this is what was applied:\n${formatPlan(result, file)}`);
  }
  print(result.applied ? 'Applied.\n' : 'Nothing was applied.\n');
}

/** Runs `registry export|apply`, printing the document, or the plan before it is applied. */
export async function runRegistryCommand(
  client: RegistryClient,
  cmd: RegistryCommand,
  print: (text: string) => void,
): Promise<void> {
  const { verb, flags, env } = cmd;
  if (verb === 'export') {
    const format = flags.format === undefined ? 'yaml' : flags.format;
    if (format !== 'yaml' && format !== 'json')
      throw new RegistryCommandError('--format must be yaml or json');
    print(formatDocument(await client.export(), format));
    return;
  }
  if (verb === 'apply') {
    const file = typeof flags.f === 'string' ? flags.f : flags.file;
    if (typeof file !== 'string') throw new RegistryCommandError('registry apply needs -f <network.yaml>');
    const doc = readStructured(file, 'the document');
    if (!isPlainObject(doc))
      throw documentErrors(file, doc, [{ path: '', reason: 'must be a mapping with sites and data_stores' }]);
    const { credentials, errors } = resolveCredentials(file, doc, env);
    if (errors.length > 0) throw documentErrors(file, doc, errors);
    const body: Record<string, unknown> = { ...doc };
    if (Object.keys(credentials).length > 0) body.site_credentials = credentials;
    const options = { dryRun: flags['dry-run'] === true, prune: flags.prune === true };
    try {
      // Checked here first with the broker's own rules, so a literal secret in the document never leaves it.
      readRegistryDocument(body);
      await planAndApply(client, body, options, file, print);
      return;
    } catch (err) {
      const fieldErrors = (err as { errors?: FieldError[] }).errors;
      if (
        Array.isArray(fieldErrors) &&
        fieldErrors.length > 0 &&
        (err as { code?: string }).code === 'VALIDATION_FAILED'
      ) {
        throw documentErrors(file, doc, fieldErrors);
      }
      if (err instanceof ApiError) throw new RegistryCommandError(`${err.code}: ${err.message}`);
      throw err;
    }
  }
  throw new RegistryCommandError(
    verb ? `unknown command: registry ${verb}` : 'registry needs export or apply',
  );
}
