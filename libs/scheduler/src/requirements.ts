import { TaskRequirement } from './snapshot';

/** TPV's default, which Galaxy uses for a tool without rules: 1 core and 3.8 GiB per core. */
export const DEFAULT_CORES = 1;
export const MEMORY_GIB_PER_DEFAULT_CORE = 3.8;

const GIB_PER_GB = 1e9 / 2 ** 30;

export interface ResolvedResources {
  cores: number;
  memoryGib: number;
  diskGib: number;
  gpus: number;
  gpuType: string | undefined;
}

/**
 * TES asks in decimal GB and sites publish GiB (TPV passes `{mem}G` to the batch system), so requests are
 * converted; the defaults are already GiB. Memory without cores means one core; cores without memory get
 * TPV's 3.8 GiB per core.
 */
export function resolveResources(task: TaskRequirement): ResolvedResources {
  const cores = task.cpuCores ?? DEFAULT_CORES;
  const memoryGib = task.ramGb !== undefined ? task.ramGb * GIB_PER_GB : cores * MEMORY_GIB_PER_DEFAULT_CORE;
  return {
    cores,
    memoryGib,
    diskGib: task.diskGb !== undefined ? task.diskGb * GIB_PER_GB : 0,
    gpus: task.gpus ?? 0,
    gpuType: task.gpuType,
  };
}

/** Lowercase scheme of a URL, or null for something that is not one. */
export function urlScheme(url: string): string | null {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  return match ? match[1].toLowerCase() : null;
}
