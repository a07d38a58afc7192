import { AdapterError } from '../site-adapter';
import { oneLine } from '../http/bounded-text';

/**
 * Strict readers of Pulsar's answers. Pulsar sends JSON as text/html, so bodies are parsed whatever their
 * content type; each reader checks the fields it uses and names the one that is wrong.
 */

type Json = Record<string, unknown>;

function bad(what: string, problem: string): AdapterError {
  return new AdapterError('protocol_error', oneLine(`${what}: ${problem}`, 400));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(text: string, what: string, secrets: readonly string[]): Json {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw bad(what, `response is not JSON (starts with "${oneLine(text, 40, secrets)}")`);
  }
  if (!isObject(body)) throw bad(what, 'the answer must be a JSON object');
  return body;
}

function absolutePath(body: Json, key: string, what: string): string {
  const value = body[key];
  // Our script quotes these paths, but a line break or NUL could never be a directory we want to use.
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || !value.startsWith('/') || /[\u0000-\u001f]/.test(value)) {
    throw bad(what, `${key} must be an absolute path`);
  }
  return value.replace(/\/+$/, '');
}

export interface JobDirectories {
  jobId: string;
  inputs: string;
  working: string;
  outputs: string;
  metadata: string;
  tools: string;
}

export function parseSetup(text: string, what: string, secrets: readonly string[]): JobDirectories {
  const body = object(text, what, secrets);
  if (typeof body.job_id !== 'string' || body.job_id === '') throw bad(what, 'job_id must be a string');
  const separator =
    body.path_separator ?? (isObject(body.system_properties) ? body.system_properties.separator : '/');
  if (separator !== undefined && separator !== '/') throw bad(what, 'the site is not a POSIX host');
  return {
    jobId: body.job_id,
    inputs: absolutePath(body, 'inputs_directory', what),
    working: absolutePath(body, 'working_directory', what),
    outputs: absolutePath(body, 'outputs_directory', what),
    metadata: absolutePath(body, 'metadata_directory', what),
    tools: absolutePath(body, 'tools_directory', what),
  };
}

export function parseUploadPath(text: string, what: string, secrets: readonly string[]): string {
  return absolutePath(object(text, what, secrets), 'path', what);
}

export type PulsarJobStatus =
  'preprocessing' | 'queued' | 'running' | 'postprocessing' | 'complete' | 'failed' | 'cancelled' | 'lost';

const STATUSES: readonly PulsarJobStatus[] = [
  'preprocessing',
  'queued',
  'running',
  'postprocessing',
  'complete',
  'failed',
  'cancelled',
  'lost',
];

export interface PulsarStatus {
  status: PulsarJobStatus;
  complete: boolean;
  returncode: number | null;
  jobStdout: string;
  jobStderr: string;
  /** Files under the outputs directory, recursively, relative to it. */
  outputs: Set<string>;
  metadata: Set<string>;
}

function stringList(body: Json, key: string, what: string): Set<string> {
  const value = body[key];
  if (value === undefined || value === null) return new Set();
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw bad(what, `${key} must be a list of strings`);
  }
  return new Set(value as string[]);
}

export function parseStatus(
  text: string,
  jobId: string,
  what: string,
  secrets: readonly string[],
): PulsarStatus {
  const body = object(text, what, secrets);
  if (body.job_id !== undefined && body.job_id !== jobId) throw bad(what, 'the answer is about another job');
  const status = body.status;
  if (typeof status !== 'string' || !STATUSES.includes(status as PulsarJobStatus)) {
    throw bad(what, `status ${JSON.stringify(status)?.slice(0, 40)} is not a Pulsar job status`);
  }
  // `complete` is the string "true" or "false" on the wire; a boolean would mean the same.
  const complete = body.complete;
  if (complete !== 'true' && complete !== 'false' && typeof complete !== 'boolean') {
    throw bad(what, 'complete must be "true" or "false"');
  }
  const rc = body.returncode;
  if (rc !== undefined && rc !== null && !(typeof rc === 'number' && Number.isSafeInteger(rc))) {
    throw bad(what, 'returncode must be an integer or null');
  }
  const text_ = (key: string): string => (typeof body[key] === 'string' ? (body[key] as string) : '');
  return {
    status: status as PulsarJobStatus,
    complete: complete === true || complete === 'true',
    returncode: typeof rc === 'number' ? rc : null,
    jobStdout: text_('job_stdout'),
    jobStderr: text_('job_stderr'),
    outputs: stringList(body, 'outputs_directory_contents', what),
    metadata: stringList(body, 'metadata_directory_contents', what),
  };
}
