import type { TesExecutorLog, TesOutputFileLog, TesState } from '@constellation/tes';
import { AdapterError, STREAM_TAIL_BYTES, type RemoteStatus } from '../site-adapter';
import { oneLine, utf8Head, utf8Tail } from '../http/bounded-text';

/**
 * Strict readers of what a TES site answers. Remote JSON is never trusted: each reader checks the fields it
 * uses and fails with a protocol_error that names the field, so a broken site is diagnosed, not guessed at.
 */

type Json = Record<string, unknown>;

// A record, not a list, so the compiler insists on every TES state and no other; only types come from
// @constellation/tes, whose runtime (Nest, TypeORM) the adapters must not load.
const TES_STATE_SET: Record<TesState, true> = {
  UNKNOWN: true,
  QUEUED: true,
  INITIALIZING: true,
  RUNNING: true,
  PAUSED: true,
  COMPLETE: true,
  EXECUTOR_ERROR: true,
  SYSTEM_ERROR: true,
  CANCELED: true,
  PREEMPTED: true,
  CANCELING: true,
};

export const MAX_SYSTEM_LOG_LINES = 50;
export const MAX_SYSTEM_LOG_LINE_BYTES = 4 * 1024;
/** Remote ids travel in our URLs and rows; no real TES server uses anything near this long. */
const MAX_ID_CHARS = 256;
const MAX_VERSION_CHARS = 100;
const MAX_TIME_CHARS = 64;

function bad(what: string, problem: string): AdapterError {
  return new AdapterError('protocol_error', oneLine(`${what}: ${problem}`, 400));
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `secrets` are redacted from the excerpt of a body that is not JSON (a site may echo our headers). */
export function parseJson(text: string, what: string, secrets: readonly string[]): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bad(what, `response is not JSON (starts with "${oneLine(text, 40, secrets)}")`);
  }
}

/** A field that may be absent; protobuf-style servers also write null for unset fields. */
function optional(obj: Json, key: string): unknown {
  const value = obj[key];
  return value === null ? undefined : value;
}

function optionalString(obj: Json, key: string, what: string, path: string): string | undefined {
  const value = optional(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw bad(what, `${path}${key} must be a string`);
  return value;
}

function optionalArray(obj: Json, key: string, what: string, path: string): unknown[] {
  const value = optional(obj, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw bad(what, `${path}${key} must be an array`);
  return value;
}

function remoteId(value: unknown, what: string, path: string): string {
  if (typeof value !== 'string' || value.length === 0) throw bad(what, `${path} must be a non-empty string`);
  if (value.length > MAX_ID_CHARS) throw bad(what, `${path} is longer than ${MAX_ID_CHARS} characters`);
  return value;
}

export interface ServiceInfo {
  version: string | null;
  storage: string[];
}

export function parseServiceInfo(body: unknown, what: string): ServiceInfo {
  if (!isObject(body)) throw bad(what, 'service-info must be a JSON object');
  const storage = optionalArray(body, 'storage', what, '');
  storage.forEach((entry, i) => {
    if (typeof entry !== 'string') throw bad(what, `storage[${i}] must be a string`);
  });
  // The version is informational: a site with an odd one is still a working site.
  const version = typeof body.version === 'string' ? oneLine(body.version, MAX_VERSION_CHARS) : null;
  return { version: version || null, storage: storage as string[] };
}

export function parseCreateResponse(body: unknown, what: string): string {
  if (!isObject(body)) throw bad(what, 'the answer must be a JSON object');
  return remoteId(body.id, what, 'id');
}

/** What `find` needs from one task of a BASIC list. */
export interface ListedTask {
  id: string;
  state: TesState;
  tags: Record<string, unknown>;
  /** Milliseconds since the epoch; null when absent or unreadable. */
  createdAt: number | null;
}

export interface TaskPage {
  tasks: ListedTask[];
  nextPageToken: string | null;
}

export function parseTaskPage(body: unknown, what: string): TaskPage {
  if (!isObject(body)) throw bad(what, 'the list must be a JSON object');
  const tasks = optionalArray(body, 'tasks', what, '').map((task, i): ListedTask => {
    const path = `tasks[${i}]`;
    if (!isObject(task)) throw bad(what, `${path} must be an object`);
    const tags = optional(task, 'tags');
    if (tags !== undefined && !isObject(tags)) throw bad(what, `${path}.tags must be an object`);
    const created = optionalString(task, 'creation_time', what, `${path}.`);
    const createdAt = created === undefined ? NaN : Date.parse(created);
    return {
      id: remoteId(task.id, what, `${path}.id`),
      state: parseState(task, what, `${path}.`),
      tags: tags ?? {},
      createdAt: Number.isNaN(createdAt) ? null : createdAt,
    };
  });
  const token = optionalString(body, 'next_page_token', what, '');
  return { tasks, nextPageToken: token ? token : null };
}

/** The statuses of the wanted tasks found on one page of a BASIC list, and where the next page is. */
export interface StatusPage {
  statuses: Map<string, RemoteStatus>;
  nextPageToken: string | null;
}

/**
 * Reads a list page for the wanted tasks only. A BASIC page has no stdout, stderr or system logs: each status
 * then says so (streamsOmitted); a FULL page's statuses are whole, as a read of the task alone gives them. A
 * task the page describes badly is left out, to be asked about alone, where the error is its own rather than
 * the whole list's.
 */
export function parseStatusPage(
  body: unknown,
  wanted: ReadonlySet<string>,
  what: string,
  view: 'BASIC' | 'FULL' = 'BASIC',
): StatusPage {
  if (!isObject(body)) throw bad(what, 'the list must be a JSON object');
  const statuses = new Map<string, RemoteStatus>();
  for (const task of optionalArray(body, 'tasks', what, '')) {
    if (!isObject(task) || typeof task.id !== 'string' || !wanted.has(task.id)) continue;
    try {
      const status = parseTaskStatus(task, task.id, what);
      statuses.set(task.id, view === 'BASIC' ? { ...status, streamsOmitted: true } : status);
    } catch {
      continue;
    }
  }
  const token = optionalString(body, 'next_page_token', what, '');
  return { statuses, nextPageToken: token ? token : null };
}

/** Protobuf-JSON servers (Funnel) leave out enum fields at their zero value, which is UNKNOWN in TES. */
function parseState(task: Json, what: string, path: string): TesState {
  const state = optional(task, 'state');
  if (state === undefined) return 'UNKNOWN';
  if (typeof state !== 'string' || !Object.prototype.hasOwnProperty.call(TES_STATE_SET, state)) {
    throw bad(what, `${path}state ${JSON.stringify(state).slice(0, 40)} is not a TES state`);
  }
  return state as TesState;
}

/** A task in the FULL view, reduced to the status of its current attempt at the site. */
export function parseTaskStatus(body: unknown, ref: string, what: string): RemoteStatus {
  if (!isObject(body)) throw bad(what, 'the task must be a JSON object');
  const id = optional(body, 'id');
  if (id !== undefined && id !== ref) throw bad(what, 'the answer is about another task id');
  const state = parseState(body, what, '');
  const logs = optionalArray(body, 'logs', what, '');
  const status: RemoteStatus = { state, executorLogs: [], outputs: [], systemLogs: [] };
  if (logs.length === 0) return status;
  // A site that retries a task appends a task log per try: the last one describes what runs now.
  const index = logs.length - 1;
  const last = logs[index];
  const path = `logs[${index}].`;
  if (!isObject(last)) throw bad(what, `logs[${index}] must be an object`);
  status.executorLogs = optionalArray(last, 'logs', what, path)
    .map((entry, i) => parseExecutorLog(entry, what, `${path}logs[${i}]`))
    .filter((entry): entry is TesExecutorLog => entry !== null);
  status.outputs = optionalArray(last, 'outputs', what, path).map((entry, i) =>
    parseOutputLog(entry, what, `${path}outputs[${i}]`),
  );
  const systemLogs = optionalArray(last, 'system_logs', what, path);
  systemLogs.forEach((line, i) => {
    if (typeof line !== 'string') throw bad(what, `${path}system_logs[${i}] must be a string`);
  });
  // The newest lines say why a task failed; older ones are dropped first.
  status.systemLogs = (systemLogs as string[])
    .slice(-MAX_SYSTEM_LOG_LINES)
    .map((line) => utf8Head(line, MAX_SYSTEM_LOG_LINE_BYTES));
  const startTime = time(last, 'start_time', what, path);
  const endTime = time(last, 'end_time', what, path);
  if (startTime !== undefined) status.startTime = startTime;
  if (endTime !== undefined) status.endTime = endTime;
  return status;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The broker serves these times through its own TES API, which promises RFC 3339: a time the site wrote in
 * another form is rewritten in UTC, and one that is no time at all is left out rather than passed on.
 */
function time(obj: Json, key: string, what: string, path: string): string | undefined {
  const value = optionalString(obj, key, what, path);
  if (value === undefined || value === '' || value.length > MAX_TIME_CHARS) return undefined;
  if (RFC3339.test(value)) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * null for an executor whose exit code is not known yet: the spec requires exit_code, but servers leave it
 * out while the executor runs. One that has ended without an exit_code is a protobuf-JSON server leaving
 * out a zero.
 */
function parseExecutorLog(entry: unknown, what: string, path: string): TesExecutorLog | null {
  if (!isObject(entry)) throw bad(what, `${path} must be an object`);
  const inner = `${path}.`;
  const startTime = time(entry, 'start_time', what, inner);
  const endTime = time(entry, 'end_time', what, inner);
  const stdout = optionalString(entry, 'stdout', what, inner);
  const stderr = optionalString(entry, 'stderr', what, inner);
  const raw = optional(entry, 'exit_code');
  let exitCode: number;
  if (raw === undefined) {
    if (endTime === undefined) return null;
    exitCode = 0;
  } else if (typeof raw === 'number' && Number.isSafeInteger(raw)) {
    exitCode = raw;
  } else if (typeof raw === 'string' && /^-?\d{1,10}$/.test(raw)) {
    exitCode = Number(raw);
  } else {
    throw bad(what, `${inner}exit_code must be an integer`);
  }
  const log: TesExecutorLog = { exit_code: exitCode };
  if (startTime !== undefined) log.start_time = startTime;
  if (endTime !== undefined) log.end_time = endTime;
  if (stdout !== undefined) log.stdout = utf8Tail(stdout, STREAM_TAIL_BYTES);
  if (stderr !== undefined) log.stderr = utf8Tail(stderr, STREAM_TAIL_BYTES);
  return log;
}

function parseOutputLog(entry: unknown, what: string, path: string): TesOutputFileLog {
  if (!isObject(entry)) throw bad(what, `${path} must be an object`);
  const inner = `${path}.`;
  const url = optionalString(entry, 'url', what, inner);
  const filePath = optionalString(entry, 'path', what, inner);
  if (!url) throw bad(what, `${inner}url must be a non-empty string`);
  if (!filePath) throw bad(what, `${inner}path must be a non-empty string`);
  // size_bytes is an int64, hence a string in TES; accept numbers too, and a protobuf-JSON server's
  // omitted zero.
  const size = optional(entry, 'size_bytes');
  let sizeBytes: string;
  if (size === undefined) sizeBytes = '0';
  else if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) sizeBytes = String(size);
  else if (typeof size === 'string' && /^\d{1,19}$/.test(size)) sizeBytes = size.replace(/^0+(?=\d)/, '');
  else throw bad(what, `${inner}size_bytes must be a non-negative integer`);
  return { url, path: filePath, size_bytes: sizeBytes };
}
