/**
 * Reads the Pulsar job message that Galaxy's released TES path (`PulsarTesJobRunner`) passes base64-encoded
 * to the staging executor (`pulsar-submit ... --base64 <message>`): the tool, the submitting Galaxy and the
 * files the job will pull. The message carries a job key and may carry credentials, so nothing here logs
 * it, and a message that is too large or malformed is ignored rather than trusted in part.
 */

/** The executor shape the reader needs, structurally compatible with a TES executor. */
export interface ExecutorShape {
  image: string;
  command: readonly string[];
}

export interface GalaxyJobInput {
  /** Where the staging image fetches the file from (Galaxy's job-files API). */
  url: string;
}

export interface GalaxyJobMessage {
  toolId?: string;
  toolVersion?: string;
  /** Origin of the submitting Galaxy (scheme, host and port), from its job-files endpoint. */
  galaxyUrl?: string;
  inputs: GalaxyJobInput[];
}

/** Larger messages are not decoded: a job message with thousands of inputs is still far below this. */
export const MAX_JOB_MESSAGE_CHARS = 4 * 1024 * 1024;
/** Inputs read from one message; the rest only add to nothing placement uses. */
export const MAX_JOB_INPUTS = 1000;

const STAGING_COMMANDS = new Set(['pulsar-submit', 'pulsar-finish']);

function commandName(word: string | undefined): string {
  if (word === undefined) return '';
  const slash = word.lastIndexOf('/');
  return slash >= 0 ? word.slice(slash + 1) : word;
}

/** Is this executor Pulsar's staging step (`pulsar-submit` or `pulsar-finish`)? */
export function isPulsarStagingExecutor(executor: ExecutorShape): boolean {
  return STAGING_COMMANDS.has(commandName(executor.command[0]));
}

/** Is the task a Galaxy coexecution (or `--wait`) job: does its first executor run `pulsar-submit`? */
export function isGalaxyPulsarTask(executors: readonly ExecutorShape[]): boolean {
  return executors.length > 0 && commandName(executors[0].command[0]) === 'pulsar-submit';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown, max = 500): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

function origin(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

function decode(base64: string): Record<string, unknown> | undefined {
  if (base64.length > MAX_JOB_MESSAGE_CHARS || !/^[A-Za-z0-9+/=_-]+$/.test(base64)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function inputsOf(staging: Record<string, unknown>): GalaxyJobInput[] {
  const setup = Array.isArray(staging.setup) ? staging.setup : [];
  const inputs: GalaxyJobInput[] = [];
  for (const entry of setup) {
    if (inputs.length >= MAX_JOB_INPUTS) break;
    if (!isRecord(entry) || entry.type !== 'input' || !isRecord(entry.action)) continue;
    const url = text(entry.action.url, 8192);
    if (url !== undefined && origin(url) !== undefined) inputs.push({ url });
  }
  return inputs;
}

/**
 * The job message of a Galaxy Pulsar task, or undefined when the task is not one or its message cannot be
 * read. Pulsar puts the tool in `setup_params` (`tool_id`, `tool_version`); the submitting Galaxy is the
 * origin of the remote-staging files endpoint, else of the first input's URL.
 */
export function readGalaxyJobMessage(executors: readonly ExecutorShape[]): GalaxyJobMessage | undefined {
  if (!isGalaxyPulsarTask(executors)) return undefined;
  const args = executors[0].command;
  const at = args.indexOf('--base64');
  const encoded = at >= 0 ? args[at + 1] : undefined;
  if (encoded === undefined) return undefined;
  const message = decode(encoded);
  if (message === undefined) return undefined;
  const setupParams = isRecord(message.setup_params) ? message.setup_params : {};
  const staging = isRecord(message.remote_staging) ? message.remote_staging : {};
  const mapper = isRecord(staging.action_mapper) ? staging.action_mapper : {};
  const inputs = inputsOf(staging);
  const result: GalaxyJobMessage = { inputs };
  const toolId = text(setupParams.tool_id) ?? text(message.tool_id);
  const toolVersion = text(setupParams.tool_version, 100) ?? text(message.tool_version, 100);
  const galaxyUrl = origin(text(mapper.files_endpoint, 8192)) ?? origin(inputs[0]?.url);
  if (toolId !== undefined) result.toolId = toolId;
  if (toolVersion !== undefined) result.toolVersion = toolVersion;
  if (galaxyUrl !== undefined) result.galaxyUrl = galaxyUrl;
  return result;
}
