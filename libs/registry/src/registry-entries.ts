import { isPlainObject } from '@constellation/common';
import { DataStoreDescription } from './data-store-document';
import { AdminState } from './registry.types';
import { SiteCapacity, SiteDescription } from './site-document';
import { REGISTRY_DOCUMENT_VERSION } from './registry-document';

// One written form of a site and a data store, used both to export the registry and to compare it with a
// document: what export writes is exactly what apply compares, so an exported document applies as a no-op.

export type Entry = Record<string, unknown>;

export interface RegistryDocument {
  version: number;
  data_stores: Entry[];
  sites: Entry[];
}

/** Drops nulls and empty lists/objects, so a document says only what differs from the defaults. */
function compact(entry: Entry): Entry {
  const out: Entry = {};
  for (const [key, value] of Object.entries(entry)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (isPlainObject(value)) {
      const inner = compact(value);
      if (Object.keys(inner).length > 0) out[key] = inner;
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** Byte order, not locale order: the same on every machine. */
export const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => byKey(a, b)));
}

/** A site's capacity in the documents' words (POST /sites, the registry document); nulls for unset. */
export function capacityDocument(c: SiteCapacity): Entry {
  return {
    max_concurrent_tasks: c.maxConcurrentTasks,
    totals: {
      cores: c.totals.cores,
      memory_gib: c.totals.memoryGib,
      gpus: c.totals.gpus,
      gpu_type: c.totals.gpuType,
      disk_gib: c.totals.diskGib,
    },
    per_task: {
      cores: c.perTask.cores,
      memory_gib: c.perTask.memoryGib,
      gpus: c.perTask.gpus,
      disk_gib: c.perTask.diskGib,
    },
  };
}

export function siteEntry(
  d: SiteDescription,
  state: AdminState,
  owner: string | null,
  localDataStores: string[],
): Entry {
  return compact({
    slug: d.slug,
    display_name: d.displayName,
    kind: d.kind,
    url: d.url,
    pulsar_manager: d.pulsarManager,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    state,
    owner,
    capacity: capacityDocument(d.capacity),
    runtimes: d.runtimes,
    run_images_on_host: d.runImagesOnHost || null,
    image_cache_dir: d.imageCacheDir,
    cvmfs_image_root: d.cvmfsImageRoot,
    local_data_stores: [...localDataStores].sort(byKey),
    tags: sortedTags(d.tags),
  });
}

export function dataStoreEntry(d: DataStoreDescription): Entry {
  return compact({
    name: d.name,
    url_prefixes: d.urlPrefixes,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    head_signed_urls: d.headSignedUrls || null,
  });
}

/** The whole document, sorted by slug and name (byte order, not locale) so that two exports compare. */
export function registryDocument(sites: Entry[], dataStores: Entry[]): RegistryDocument {
  return {
    version: REGISTRY_DOCUMENT_VERSION,
    data_stores: [...dataStores].sort((a, b) => byKey(String(a.name), String(b.name))),
    sites: [...sites].sort((a, b) => byKey(String(a.slug), String(b.slug))),
  };
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

function flatten(entry: Entry, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [key, value] of Object.entries(entry)) {
    const path = prefix ? `${prefix}.${key}` : key;
    // Tags are compared whole: a tag key may contain dots.
    if (isPlainObject(value) && key !== 'tags') flatten(value, path, out);
    else out.set(path, value);
  }
  return out;
}

/** The fields (dotted paths) in which two entries differ, in the order the entries write them. */
export function diffEntries(current: Entry, desired: Entry): FieldChange[] {
  const a = flatten(current);
  const b = flatten(desired);
  const paths = [...new Set([...a.keys(), ...b.keys()])];
  const changes: FieldChange[] = [];
  for (const field of paths) {
    const from = a.get(field) ?? null;
    const to = b.get(field) ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from, to });
  }
  return changes;
}
