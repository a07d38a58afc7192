import type { TaskDocument, TesExecutor, TesInput, TesOutput, TesResources } from '@constellation/tes';
import { hintSeconds, SIM_SECONDS_TAG } from './duration-model';
import { invalid } from './sim-error';

/** The parts of a created task the simulated site keeps, as the client sent them. */
export interface SimTaskDocument extends Partial<TaskDocument> {
  executors: TesExecutor[];
  tags: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalNumber(obj: Record<string, unknown>, key: string, path: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw invalid(`${path}${key}`, 'must be a number >= 0');
  return v;
}

/**
 * Checks what the simulation reads (executors, resources, tags, the duration hint) and keeps the rest as
 * it came: a real TES server would check more, but the broker's own validation has already run.
 */
export function readTaskDocument(body: unknown): SimTaskDocument {
  if (!isObject(body)) throw invalid('', 'the task must be a JSON object');
  const executors = body.executors;
  if (!Array.isArray(executors) || executors.length === 0)
    throw invalid('executors', 'must be a non-empty array');
  executors.forEach((e, i) => {
    if (!isObject(e)) throw invalid(`executors[${i}]`, 'must be an object');
    if (typeof e.image !== 'string' || e.image === '') throw invalid(`executors[${i}].image`, 'is required');
    if (!Array.isArray(e.command) || e.command.length === 0 || !e.command.every((c) => typeof c === 'string'))
      throw invalid(`executors[${i}].command`, 'must be a non-empty array of strings');
  });
  const tags: Record<string, string> = {};
  if (body.tags !== undefined && body.tags !== null) {
    if (!isObject(body.tags)) throw invalid('tags', 'must be an object of strings');
    for (const [k, v] of Object.entries(body.tags)) {
      if (typeof v !== 'string') throw invalid(`tags.${k}`, 'must be a string');
      tags[k] = v;
    }
  }
  const hint = tags[SIM_SECONDS_TAG];
  if (hint !== undefined && hintSeconds(hint) === undefined)
    throw invalid(`tags.${SIM_SECONDS_TAG}`, 'must be a number of seconds such as 12 or 0.5');
  if (body.resources !== undefined && body.resources !== null) {
    if (!isObject(body.resources)) throw invalid('resources', 'must be an object');
    for (const key of ['cpu_cores', 'ram_gb', 'disk_gb']) optionalNumber(body.resources, key, 'resources.');
  }
  for (const key of ['inputs', 'outputs', 'volumes'] as const) {
    if (body[key] !== undefined && body[key] !== null && !Array.isArray(body[key]))
      throw invalid(key, 'must be an array');
  }
  const outputs = (body.outputs as unknown[] | undefined) ?? [];
  outputs.forEach((o, i) => {
    if (!isObject(o) || typeof o.url !== 'string' || typeof o.path !== 'string')
      throw invalid(`outputs[${i}]`, 'must have a url and a path');
  });
  const doc: SimTaskDocument = { executors: executors as TesExecutor[], tags };
  if (typeof body.name === 'string') doc.name = body.name;
  if (typeof body.description === 'string') doc.description = body.description;
  if (Array.isArray(body.inputs)) doc.inputs = body.inputs as TesInput[];
  if (Array.isArray(body.outputs)) doc.outputs = body.outputs as TesOutput[];
  if (isObject(body.resources)) doc.resources = body.resources as TesResources;
  if (Array.isArray(body.volumes)) doc.volumes = body.volumes as string[];
  return doc;
}
