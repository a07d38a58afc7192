import {
  describeValue,
  FieldValidator,
  isPlainObject,
  textProblem,
  ValidationFailedError,
} from '@constellation/common';
import { BACKEND_PARAMETERS } from './backend-parameters';
import { TaskDocument, TesExecutor, TesFileType, TesInput, TesOutput, TesResources } from './tes.types';

/** Schemes some site kind can fetch inputs from (TES sites fetch what their storage allows; Pulsar pulls http(s)). */
export const INPUT_SCHEMES = ['http', 'https', 'ftp', 'ftps', 's3', 'gs', 'az', 'file', 'drs', 'sftp'];
export const OUTPUT_SCHEMES = ['http', 'https', 'ftp', 'ftps', 's3', 'gs', 'az', 'file', 'sftp'];

const MAX_EXECUTORS = 100;
// Generous: the body limit bounds documents; these only stop one field from being absurd.
const MAX_STRING = 1024 * 1024;
const MAX_NAME = 1024;
const MAX_TAGS = 256;
const INT32_MAX = 2_147_483_647;
const WILDCARD = /[*?[]/;

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return isPlainObject(v);
}

// The TES API says what it found instead of the expected type ("must be a string, not number 42").
const checker = (): FieldValidator => new FieldValidator({ sayFound: true });

/** null is "not given": pydantic-based clients (Galaxy via Pulsar) send explicit nulls for unset fields. */
function given(obj: Record<string, Json>, key: string): Json {
  const v = obj[key];
  return v === null ? undefined : v;
}

function str(
  c: FieldValidator,
  obj: Record<string, Json>,
  key: string,
  path: string,
  opts: { required?: boolean; max?: number; nonEmpty?: boolean } = {},
): string | undefined {
  const v = given(obj, key);
  if (v === undefined) return opts.required ? c.fail(path, 'is required') : undefined;
  return c.string(v, path, { max: opts.max ?? MAX_STRING, notBlank: opts.nonEmpty });
}

function bool(c: FieldValidator, obj: Record<string, Json>, key: string, path: string): boolean | undefined {
  const v = given(obj, key);
  return v === undefined ? undefined : c.boolean(v, path);
}

function absolutePath(
  c: FieldValidator,
  obj: Record<string, Json>,
  key: string,
  path: string,
  required: boolean,
): string | undefined {
  const v = str(c, obj, key, path, { required, nonEmpty: required });
  if (v === undefined) return undefined;
  if (!v.startsWith('/')) return c.fail(path, 'must be an absolute path (start with /)');
  if (v.includes('\0')) return c.fail(path, 'must not contain NUL characters');
  if (v.split('/').includes('..')) return c.fail(path, 'must not contain .. segments');
  return v;
}

function stringMap(
  c: FieldValidator,
  obj: Record<string, Json>,
  key: string,
  path: string,
  maxEntries: number,
): Record<string, string> | undefined {
  const v = given(obj, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) return c.fail(path, `must be an object of string values, not ${describeValue(v)}`);
  const entries = Object.entries(v);
  if (entries.length > maxEntries) return c.fail(path, `must have at most ${maxEntries} entries`);
  const out: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (k === '') c.fail(`${path}`, 'keys must not be empty');
    else if (k.length > 255) c.fail(`${path}.${k.slice(0, 40)}…`, 'key must be at most 255 characters');
    else if (textProblem(k)) c.fail(path, `key ${JSON.stringify(k.slice(0, 40))} ${textProblem(k)}`);
    else {
      const s = c.string(value, `${path}.${k}`, { max: MAX_STRING });
      if (s !== undefined) out[k] = s;
    }
  }
  return out;
}

/** The array itself, items unchecked (callers read each with its own path). */
function arrayOf(
  c: FieldValidator,
  obj: Record<string, Json>,
  key: string,
  path: string,
): Json[] | undefined {
  const v = given(obj, key);
  return v === undefined ? undefined : c.array(v, path, (item: Json) => item);
}

function fileType(c: FieldValidator, obj: Record<string, Json>, path: string): TesFileType {
  const v = obj.type;
  if (v === undefined || v === null) return 'FILE';
  if (v !== 'FILE' && v !== 'DIRECTORY') {
    c.fail(path, 'must be FILE or DIRECTORY');
    return 'FILE';
  }
  return v;
}

/** Accepts `scheme://…` URLs of a known scheme, and bare absolute paths (the spec's `/path/to/my/file`). */
function storageUrl(c: FieldValidator, value: string, path: string, schemes: string[]): string | undefined {
  if (value.startsWith('/')) return value;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  if (!m)
    return c.fail(path, 'must be a URL such as https://host/file or s3://bucket/key, or an absolute path');
  const scheme = m[1].toLowerCase();
  if (!schemes.includes(scheme)) {
    return c.fail(
      path,
      `uses the scheme ${scheme}, which no site can handle (supported: ${schemes.join(', ')})`,
    );
  }
  try {
    const parsed = new URL(value);
    if ((scheme === 'http' || scheme === 'https') && !parsed.hostname)
      return c.fail(path, 'must name a host');
  } catch {
    return c.fail(path, 'is not a valid URL');
  }
  return value;
}

function input(c: FieldValidator, raw: Json, p: string): TesInput | undefined {
  if (!isObject(raw)) return c.fail(p, `must be an object, not ${describeValue(raw)}`);
  const path = absolutePath(c, raw, 'path', `${p}.path`, true);
  const content = str(c, raw, 'content', `${p}.content`, { max: Number.MAX_SAFE_INTEGER });
  const type = fileType(c, raw, `${p}.type`);
  // A content the client gave but that failed its own check still means "no url needed".
  const hasContent = typeof raw.content === 'string' && raw.content !== '';
  let url: string | undefined;
  if (!hasContent) {
    const given = str(c, raw, 'url', `${p}.url`, { required: true, nonEmpty: true });
    if (given !== undefined) url = storageUrl(c, given, `${p}.url`, INPUT_SCHEMES);
  } else if (type === 'DIRECTORY') {
    c.fail(`${p}.type`, 'must be FILE when content is given (content is the text of one file)');
  }
  const out: TesInput = { path: path ?? '', type };
  const name = str(c, raw, 'name', `${p}.name`, { max: MAX_NAME });
  const description = str(c, raw, 'description', `${p}.description`);
  const streamable = bool(c, raw, 'streamable', `${p}.streamable`);
  if (name !== undefined) out.name = name;
  if (description !== undefined) out.description = description;
  // "If content is not empty, url must be ignored": it is not stored either.
  if (hasContent) out.content = content;
  else if (url !== undefined) out.url = url;
  if (streamable !== undefined) out.streamable = streamable;
  return out;
}

function output(c: FieldValidator, raw: Json, p: string): TesOutput | undefined {
  if (!isObject(raw)) return c.fail(p, `must be an object, not ${describeValue(raw)}`);
  const path = absolutePath(c, raw, 'path', `${p}.path`, true);
  const givenUrl = str(c, raw, 'url', `${p}.url`, { required: true, nonEmpty: true });
  const url = givenUrl === undefined ? undefined : storageUrl(c, givenUrl, `${p}.url`, OUTPUT_SCHEMES);
  const type = fileType(c, raw, `${p}.type`);
  const prefix = str(c, raw, 'path_prefix', `${p}.path_prefix`);
  const out: TesOutput = { url: url ?? '', path: path ?? '', type };
  if (path !== undefined && WILDCARD.test(path)) {
    if (prefix === undefined || prefix === '') {
      c.fail(`${p}.path_prefix`, 'is required when path contains wildcards');
    } else if (!prefix.startsWith('/') || !path.startsWith(prefix)) {
      c.fail(`${p}.path_prefix`, 'must be an absolute path that path starts with');
    } else {
      out.path_prefix = prefix;
    }
  } else if (prefix !== undefined && prefix !== '') {
    // Ignored without wildcards, as the spec says; kept so the document reads back as sent.
    out.path_prefix = prefix;
  }
  const name = str(c, raw, 'name', `${p}.name`, { max: MAX_NAME });
  const description = str(c, raw, 'description', `${p}.description`);
  if (name !== undefined) out.name = name;
  if (description !== undefined) out.description = description;
  return out;
}

function executor(c: FieldValidator, raw: Json, p: string): TesExecutor | undefined {
  if (!isObject(raw)) return c.fail(p, `must be an object, not ${describeValue(raw)}`);
  const image = str(c, raw, 'image', `${p}.image`, { required: true, nonEmpty: true, max: 1024 });
  const commandRaw = raw.command;
  let command: string[] | undefined;
  if (commandRaw === undefined || commandRaw === null) c.fail(`${p}.command`, 'is required');
  else if (!Array.isArray(commandRaw))
    c.fail(`${p}.command`, `must be an array of strings, not ${describeValue(commandRaw)}`);
  else if (commandRaw.length === 0)
    c.fail(`${p}.command`, 'must not be empty (the first element is the program)');
  else {
    commandRaw.forEach((arg, i) => {
      if (typeof arg !== 'string')
        c.fail(`${p}.command[${i}]`, `must be a string, not ${describeValue(arg)}`);
      else if (textProblem(arg)) c.fail(`${p}.command[${i}]`, textProblem(arg) as string);
    });
    command = commandRaw.filter((a): a is string => typeof a === 'string');
  }
  const out: TesExecutor = { image: image ?? '', command: command ?? [] };
  const workdir = str(c, raw, 'workdir', `${p}.workdir`);
  const stdin = absolutePath(c, raw, 'stdin', `${p}.stdin`, false);
  const stdout = absolutePath(c, raw, 'stdout', `${p}.stdout`, false);
  const stderr = absolutePath(c, raw, 'stderr', `${p}.stderr`, false);
  const env = stringMap(c, raw, 'env', `${p}.env`, 1000);
  const ignoreError = bool(c, raw, 'ignore_error', `${p}.ignore_error`);
  if (workdir !== undefined && workdir !== '') out.workdir = workdir;
  if (stdin !== undefined) out.stdin = stdin;
  if (stdout !== undefined) out.stdout = stdout;
  if (stderr !== undefined) out.stderr = stderr;
  if (env !== undefined) out.env = env;
  if (ignoreError !== undefined) out.ignore_error = ignoreError;
  return out;
}

function positiveNumber(
  c: FieldValidator,
  obj: Record<string, Json>,
  key: string,
  path: string,
  integer: boolean,
  allowZero = false,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    return c.fail(path, `must be a number, not ${describeValue(v)}`);
  if (integer && !Number.isInteger(v)) return c.fail(path, 'must be a whole number');
  if (allowZero ? v < 0 : v <= 0)
    return c.fail(path, allowZero ? 'must not be negative' : 'must be greater than 0');
  if (integer && v > INT32_MAX) return c.fail(path, `must be at most ${INT32_MAX}`);
  if (v > 1e9) return c.fail(path, 'is unreasonably large');
  return v;
}

function resources(c: FieldValidator, raw: Json, p: string, ignored: string[]): TesResources | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) return c.fail(p, `must be an object, not ${describeValue(raw)}`);
  const out: TesResources = {};
  const cpu = positiveNumber(c, raw, 'cpu_cores', `${p}.cpu_cores`, true);
  const ram = positiveNumber(c, raw, 'ram_gb', `${p}.ram_gb`, false, true);
  const disk = positiveNumber(c, raw, 'disk_gb', `${p}.disk_gb`, false, true);
  const preemptible = bool(c, raw, 'preemptible', `${p}.preemptible`);
  const strict = bool(c, raw, 'backend_parameters_strict', `${p}.backend_parameters_strict`);
  if (cpu !== undefined) out.cpu_cores = cpu;
  if (ram !== undefined) out.ram_gb = ram;
  if (disk !== undefined) out.disk_gb = disk;
  if (preemptible !== undefined) out.preemptible = preemptible;
  const zones = arrayOf(c, raw, 'zones', `${p}.zones`);
  if (zones !== undefined) {
    const valid: string[] = [];
    zones.forEach((z, i) => {
      if (typeof z !== 'string') c.fail(`${p}.zones[${i}]`, `must be a string, not ${describeValue(z)}`);
      else if (z.trim() === '' || z.length > 255)
        c.fail(`${p}.zones[${i}]`, 'must be a non-empty string of at most 255 characters');
      else if (textProblem(z)) c.fail(`${p}.zones[${i}]`, textProblem(z) as string);
      else valid.push(z);
    });
    out.zones = valid;
  }
  const params = stringMap(c, raw, 'backend_parameters', `${p}.backend_parameters`, 100);
  if (params !== undefined) {
    const known: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      const lower = key.toLowerCase();
      const rule = BACKEND_PARAMETERS[lower];
      if (!rule) {
        // "Backends shall not store or return unsupported keys"; strict mode makes them an error.
        if (strict)
          c.fail(`${p}.backend_parameters.${key}`, 'is not supported (backend_parameters_strict is true)');
        else ignored.push(key);
        continue;
      }
      if (!rule.check(value)) c.fail(`${p}.backend_parameters.${key}`, `must be ${rule.expected}`);
      else known[lower] = value;
    }
    out.backend_parameters = known;
  }
  if (strict !== undefined) out.backend_parameters_strict = strict;
  return out;
}

function list<T>(
  c: FieldValidator,
  body: Record<string, Json>,
  key: string,
  each: (raw: Json, path: string) => T | undefined,
): T[] {
  const arr = arrayOf(c, body, key, key);
  if (arr === undefined) return [];
  const out: T[] = [];
  arr.forEach((raw, i) => {
    const v = each(raw, `${key}[${i}]`);
    if (v !== undefined) out.push(v);
  });
  return out;
}

/**
 * Validates a CreateTask body and returns the document to store. Read-only fields (id, state, logs,
 * creation_time) are ignored, never trusted. Throws ValidationFailedError naming every offending field.
 */
export interface ValidatedTask {
  document: TaskDocument;
  /** backend_parameters keys dropped because the broker does not support them (the spec asks for a warning). */
  ignoredBackendParameters: string[];
}

export function validateTaskDocument(body: Json): ValidatedTask {
  const c = checker();
  if (body === undefined) {
    throw new ValidationFailedError([
      { path: '', reason: 'is missing: send the tesTask as JSON (Content-Type: application/json)' },
    ]);
  }
  if (!isObject(body))
    throw new ValidationFailedError([
      { path: '', reason: `must be a JSON object (a tesTask), not ${describeValue(body)}` },
    ]);

  const executorsRaw = body.executors;
  let executors: TesExecutor[] = [];
  if (executorsRaw === undefined || executorsRaw === null) c.fail('executors', 'is required');
  else if (!Array.isArray(executorsRaw))
    c.fail('executors', `must be an array, not ${describeValue(executorsRaw)}`);
  else if (executorsRaw.length === 0) c.fail('executors', 'must contain at least one executor');
  else if (executorsRaw.length > MAX_EXECUTORS)
    c.fail('executors', `must contain at most ${MAX_EXECUTORS} executors`);
  else executors = list(c, body, 'executors', (raw, p) => executor(c, raw, p));

  const doc: TaskDocument = {
    inputs: list(c, body, 'inputs', (raw, p) => input(c, raw, p)),
    outputs: list(c, body, 'outputs', (raw, p) => output(c, raw, p)),
    executors,
    volumes: list(c, body, 'volumes', (raw, p) => {
      if (typeof raw !== 'string') return c.fail(p, `must be a string, not ${describeValue(raw)}`);
      return absolutePath(c, { v: raw }, 'v', p, true);
    }),
    tags: stringMap(c, body, 'tags', 'tags', MAX_TAGS) ?? {},
  };
  const name = str(c, body, 'name', 'name', { max: MAX_NAME });
  const description = str(c, body, 'description', 'description', { max: 65_536 });
  const ignored: string[] = [];
  const res = resources(c, body.resources, 'resources', ignored);
  if (name !== undefined) doc.name = name;
  if (description !== undefined) doc.description = description;
  if (res !== undefined) doc.resources = res;

  if (c.errors.length > 0) throw new ValidationFailedError(c.errors);
  return { document: doc, ignoredBackendParameters: ignored };
}
