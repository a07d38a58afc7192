import type { TaskDocument } from '@constellation/tes';
import {
  readGalaxyJobMessage,
  type DataStoreSnapshot,
  type TaskInput,
  type TaskRequirement,
} from '@constellation/scheduler';

/**
 * Input size assumed until the broker learns real sizes (TES inputs carry none): large enough that a
 * transfer across Europe costs something, small enough not to dwarf the run time of a typical Galaxy job.
 */
export const DEFAULT_INPUT_BYTES = 64 * 1024 * 1024;

/** A registered store as placement matches URLs against it. */
export interface StorePrefixes extends DataStoreSnapshot {
  urlPrefixes: string[];
  /** Sizing may HEAD its URLs whose query carries a credential. */
  headSignedUrls?: boolean;
}

/** The store whose longest URL prefix matches, if any. */
export function storeFor(url: string, stores: readonly StorePrefixes[]): string | undefined {
  let best: { id: string; length: number } | undefined;
  for (const store of stores) {
    for (const prefix of store.urlPrefixes) {
      if (url.startsWith(prefix) && (best === undefined || prefix.length > best.length)) {
        best = { id: store.id, length: prefix.length };
      }
    }
  }
  return best?.id;
}

export interface RequirementSource {
  id: string;
  document: TaskDocument;
  excludedSiteIds: string[];
  queuedAt: Date;
}

/**
 * The size placement assumes for an input URL. Today every input gets DEFAULT_INPUT_BYTES; a sizer that asks
 * the store (HEAD, cached) or a learned per-fingerprint size plugs in here.
 */
export type InputSizer = (url: string) => number;
export const defaultInputSize: InputSizer = () => DEFAULT_INPUT_BYTES;

/** A Galaxy job-files URL without its query, which carries the job key: enough to match a store's prefix. */
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

/**
 * The task's inputs as placement sees them: its TES inputs with URLs, and for a Galaxy Pulsar task (which
 * has no TES inputs) the files its job message says the staging step will pull from the submitting Galaxy.
 */
export function taskInputs(
  document: TaskDocument,
  stores: readonly StorePrefixes[],
  sizeOf: InputSizer = defaultInputSize,
): TaskInput[] {
  // Not a list throws: placement then fails the task as unreadable (see placement.service.ts).
  const inputs: TaskInput[] = document.inputs
    .filter((input) => input.content === undefined || input.content === '')
    .filter((input) => input.url !== undefined)
    .map((input) => ({
      url: input.url,
      sizeBytes: sizeOf(input.url as string),
      dataStoreId: storeFor(input.url as string, stores),
    }));
  const message = Array.isArray(document.executors) ? readGalaxyJobMessage(document.executors) : undefined;
  for (const staged of message?.inputs ?? []) {
    const url = withoutQuery(staged.url);
    inputs.push({
      url,
      sizeBytes: sizeOf(url),
      dataStoreId: storeFor(staged.url, stores),
      stagedByTask: true,
    });
  }
  return inputs;
}

/**
 * Counts what placement cannot see as read from the submitter's home data store: inputs no registered store
 * holds, and for a task with no input URL at all (a Galaxy job whose message could not be read) one input of
 * the default size. Changes `requirement` in place.
 */
export function withHomeStore(requirement: TaskRequirement, home: StorePrefixes | undefined): void {
  if (home === undefined) return;
  const withUrl = requirement.inputs.filter((i) => i.url !== undefined);
  for (const input of withUrl) input.dataStoreId ??= home.id;
  if (withUrl.length === 0) {
    requirement.inputs.push({
      url: home.urlPrefixes[0] ?? `data-store:${home.id}`,
      sizeBytes: DEFAULT_INPUT_BYTES,
      dataStoreId: home.id,
      stagedByTask: true,
    });
  }
}

/** What placement needs from a stored TES task: resources, constellation.* parameters, inputs, outputs. */
export function taskRequirement(task: RequirementSource, stores: readonly StorePrefixes[]): TaskRequirement {
  const resources = task.document.resources ?? {};
  const params = resources.backend_parameters ?? {};
  const requirement: TaskRequirement = {
    id: task.id,
    inputs: taskInputs(task.document, stores),
    outputUrls: task.document.outputs.map((o) => o.url),
    excludedSiteIds: task.excludedSiteIds,
    queuedAt: task.queuedAt.getTime() / 1000,
  };
  if (resources.cpu_cores !== undefined) requirement.cpuCores = resources.cpu_cores;
  if (resources.ram_gb !== undefined) requirement.ramGb = resources.ram_gb;
  if (resources.disk_gb !== undefined) requirement.diskGb = resources.disk_gb;
  if (resources.zones !== undefined && resources.zones.length > 0) requirement.zones = resources.zones;
  if (params['constellation.site'] !== undefined) requirement.pinnedSite = params['constellation.site'];
  if (params['constellation.gpus'] !== undefined) requirement.gpus = Number(params['constellation.gpus']);
  if (params['constellation.gpu_type'] !== undefined) requirement.gpuType = params['constellation.gpu_type'];
  return requirement;
}

/** `constellation.rerun_on_site_loss`: false keeps a task that had started from running a second time. */
export function rerunOnSiteLoss(document: TaskDocument): boolean {
  const value: unknown = document.resources?.backend_parameters?.['constellation.rerun_on_site_loss'];
  // The validator stores strings only; a row written another way may hold false itself.
  return typeof value === 'string' ? value.toLowerCase() !== 'false' : value !== false;
}
