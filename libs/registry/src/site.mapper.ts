import { SiteEntity } from './site.entity';
import { SiteEventEntity } from './site-event.entity';
import { SiteDescription } from './site-document';
import type { SiteEventView, SiteView } from './site.views';

export type { SiteEventView, SiteView };

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** What names a site and places it on the map: the first fields of every view of a site. */
export function sitePlaceOf(
  s: SiteEntity,
): Pick<SiteView, 'id' | 'slug' | 'display_name' | 'country' | 'latitude' | 'longitude'> {
  return {
    id: s.id,
    slug: s.slug,
    display_name: s.displayName,
    country: s.country,
    latitude: s.latitude,
    longitude: s.longitude,
  };
}

export function toSiteView(s: SiteEntity): SiteView {
  return {
    ...sitePlaceOf(s),
    kind: s.kind,
    url: s.url,
    pulsar_manager: s.pulsarManager,
    has_credentials: s.credentialsEncrypted !== null,
    admin_state: s.adminState,
    health: s.health,
    capacity: {
      max_concurrent_tasks: s.maxConcurrentTasks,
      totals: {
        cores: s.totalCores,
        memory_gib: s.totalMemoryGib,
        gpus: s.totalGpus,
        gpu_type: s.gpuType,
        disk_gib: s.totalDiskGib,
      },
      per_task: {
        cores: s.maxTaskCores,
        memory_gib: s.maxTaskMemoryGib,
        gpus: s.maxTaskGpus,
        disk_gib: s.maxTaskDiskGib,
      },
    },
    runtimes: s.runtimes,
    run_images_on_host: s.runImagesOnHost,
    image_cache_dir: s.imageCacheDir,
    cvmfs_image_root: s.cvmfsImageRoot,
    local_data_store_ids: s.localDataStoreIds,
    tags: s.tags,
    owner_id: s.ownerId,
    probe: {
      last_probe_at: iso(s.lastProbeAt),
      last_ok_at: iso(s.lastOkAt),
      consecutive_failures: s.consecutiveFailures,
      latency_ms: s.latencyMs,
      version: s.remoteVersion,
      last_error: s.lastProbeError,
    },
    load: {
      running: s.runningTasks,
      queued: s.queuedTasks,
      reported_running: s.reportedRunning,
      reported_queued: s.reportedQueued,
      estimated_wait_seconds: s.estimatedWaitSeconds,
      updated_at: iso(s.loadUpdatedAt),
    },
    speed_factor: s.speedFactor,
    last_self_test: s.lastSelfTest,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

export function toSiteEventView(e: SiteEventEntity): SiteEventView {
  return {
    id: e.id,
    site_id: e.siteId,
    created_at: e.createdAt.toISOString(),
    kind: e.kind,
    from: e.fromValue,
    to: e.toValue,
    actor_id: e.actorId,
    reason: e.reason,
  };
}

export function toSiteDescription(s: SiteEntity): SiteDescription {
  return {
    slug: s.slug,
    displayName: s.displayName,
    country: s.country,
    latitude: s.latitude,
    longitude: s.longitude,
    kind: s.kind,
    url: s.url,
    pulsarManager: s.pulsarManager,
    capacity: {
      maxConcurrentTasks: s.maxConcurrentTasks,
      totals: {
        cores: s.totalCores,
        memoryGib: s.totalMemoryGib,
        gpus: s.totalGpus,
        gpuType: s.gpuType,
        diskGib: s.totalDiskGib,
      },
      perTask: {
        cores: s.maxTaskCores,
        memoryGib: s.maxTaskMemoryGib,
        gpus: s.maxTaskGpus,
        diskGib: s.maxTaskDiskGib,
      },
    },
    runtimes: s.runtimes,
    runImagesOnHost: s.runImagesOnHost,
    imageCacheDir: s.imageCacheDir,
    cvmfsImageRoot: s.cvmfsImageRoot,
    localDataStoreIds: s.localDataStoreIds,
    tags: s.tags,
  };
}

/** Writes a validated description onto the row (everything a provider may set; nothing the broker owns). */
export function applySiteDescription(s: SiteEntity, d: SiteDescription): void {
  s.slug = d.slug;
  s.displayName = d.displayName;
  s.country = d.country;
  s.latitude = d.latitude;
  s.longitude = d.longitude;
  s.kind = d.kind;
  s.url = d.url;
  s.pulsarManager = d.pulsarManager;
  s.maxConcurrentTasks = d.capacity.maxConcurrentTasks;
  s.totalCores = d.capacity.totals.cores;
  s.totalMemoryGib = d.capacity.totals.memoryGib;
  s.totalGpus = d.capacity.totals.gpus;
  s.gpuType = d.capacity.totals.gpuType;
  s.totalDiskGib = d.capacity.totals.diskGib;
  s.maxTaskCores = d.capacity.perTask.cores;
  s.maxTaskMemoryGib = d.capacity.perTask.memoryGib;
  s.maxTaskGpus = d.capacity.perTask.gpus;
  s.maxTaskDiskGib = d.capacity.perTask.diskGib;
  s.runtimes = d.runtimes;
  s.runImagesOnHost = d.runImagesOnHost;
  s.imageCacheDir = d.imageCacheDir;
  s.cvmfsImageRoot = d.cvmfsImageRoot;
  s.localDataStoreIds = d.localDataStoreIds;
  s.tags = d.tags;
}
