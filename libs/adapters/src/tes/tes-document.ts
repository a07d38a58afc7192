import type { TesExecutor, TesResources } from '@constellation/tes';
import { ATTEMPT_TAG, TASK_TAG, type SubmitJob } from '../site-adapter';

/** backend_parameters the broker reads itself (site pinning, GPUs); the site must not see them. */
const BROKER_PARAMETER_PREFIX = 'constellation.';

/**
 * The task document as the site receives it: the client's document, less the broker's own backend
 * parameters, plus the two tags that let a resend find the first copy. Empty optional fields are left out,
 * because some servers reject an empty `resources` or `backend_parameters` object.
 */
export function remoteDocument(job: SubmitJob): Record<string, unknown> {
  const tes = job.tes;
  const doc: Record<string, unknown> = {};
  if (tes.name !== undefined) doc.name = tes.name;
  if (tes.description !== undefined) doc.description = tes.description;
  if (tes.inputs.length > 0) doc.inputs = tes.inputs;
  if (tes.outputs.length > 0) doc.outputs = tes.outputs;
  const resources = tes.resources ? remoteResources(tes.resources) : undefined;
  if (resources) doc.resources = resources;
  doc.executors = tes.executors.map(remoteExecutor);
  if (tes.volumes.length > 0) doc.volumes = tes.volumes;
  // Ours come last: a client tag with the same key must not redirect the lookup to another task.
  doc.tags = { ...tes.tags, [TASK_TAG]: job.taskId, [ATTEMPT_TAG]: String(job.attempt) };
  return doc;
}

function remoteResources(resources: TesResources): TesResources | undefined {
  const { backend_parameters: params, backend_parameters_strict: strict, zones, ...rest } = resources;
  const out: TesResources = { ...rest };
  if (zones && zones.length > 0) out.zones = zones;
  // Keys are case-insensitive (TES 1.1, tesResources.backend_parameters).
  const kept = Object.entries(params ?? {}).filter(
    ([key]) => !key.toLowerCase().startsWith(BROKER_PARAMETER_PREFIX),
  );
  if (kept.length > 0) {
    out.backend_parameters = Object.fromEntries(kept);
    // The flag qualifies the parameters; with none of them left it would say nothing to the site.
    if (strict !== undefined) out.backend_parameters_strict = strict;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function remoteExecutor(executor: TesExecutor): TesExecutor {
  const { env, ...rest } = executor;
  return env && Object.keys(env).length > 0 ? { ...rest, env } : rest;
}
