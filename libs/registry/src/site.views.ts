import type { AdminState, Health, Runtime, SelfTestResult, SiteEventKind, SiteKind } from './registry.types';

// Types only, importing nothing but types: the web console checks its reading of the API against them.

/** A site as every API caller sees it. Credentials never appear: only whether the site has some. */
export interface SiteView {
  id: string;
  slug: string;
  display_name: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
  kind: SiteKind;
  url: string | null;
  pulsar_manager: string | null;
  has_credentials: boolean;
  admin_state: AdminState;
  health: Health;
  capacity: {
    max_concurrent_tasks: number;
    totals: {
      cores: number | null;
      memory_gib: number | null;
      gpus: number | null;
      gpu_type: string | null;
      disk_gib: number | null;
    };
    per_task: {
      cores: number | null;
      memory_gib: number | null;
      gpus: number | null;
      disk_gib: number | null;
    };
  };
  runtimes: Runtime[];
  run_images_on_host: boolean;
  image_cache_dir: string | null;
  cvmfs_image_root: string | null;
  local_data_store_ids: string[];
  tags: Record<string, string>;
  owner_id: string;
  probe: {
    last_probe_at: string | null;
    last_ok_at: string | null;
    consecutive_failures: number;
    latency_ms: number | null;
    version: string | null;
    last_error: string | null;
  };
  load: {
    running: number;
    queued: number;
    reported_running: number | null;
    reported_queued: number | null;
    estimated_wait_seconds: number | null;
    updated_at: string | null;
  };
  speed_factor: number;
  last_self_test: SelfTestResult | null;
  created_at: string;
  updated_at: string;
}

export interface SiteEventView {
  id: string;
  site_id: string;
  created_at: string;
  kind: SiteEventKind;
  from: string | null;
  to: string | null;
  actor_id: string | null;
  reason: string;
}
