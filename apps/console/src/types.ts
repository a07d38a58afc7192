// Shapes of the API answers the console reads (see /openapi.json).

import type { SelfTestResult } from './self-test';

export type AdminState = 'pending' | 'active' | 'draining' | 'disabled';
export type Health = 'unknown' | 'up' | 'offline';

export interface NetworkSite {
  id: string;
  slug: string;
  display_name: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
  admin_state: Exclude<AdminState, 'pending'>;
  health: Health;
  max_concurrent_tasks: number;
  cores: number | null;
  running: number;
  queued: number;
}

export interface NetworkDataStore {
  id: string;
  name: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
}

export interface Network {
  generated_at: string;
  links_window_hours: number;
  sites: NetworkSite[];
  data_stores: NetworkDataStore[];
  links: { data_store_id: string; site_id: string; tasks: number }[];
}

export interface Site {
  id: string;
  slug: string;
  display_name: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
  kind: 'tes' | 'pulsar-rest' | 'pulsar-amqp';
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
  runtimes: string[];
  owner_id: string;
  probe: {
    last_probe_at: string | null;
    last_ok_at: string | null;
    consecutive_failures: number;
    latency_ms: number | null;
    version: string | null;
    last_error: string | null;
  };
  load: { running: number; queued: number; estimated_wait_seconds: number | null; updated_at: string | null };
  speed_factor: number;
  created_at: string;
  /** The last self-test (null before the first); absent from brokers without self-tests. */
  last_self_test?: SelfTestResult | null;
}

export interface SiteEvent {
  id: string;
  created_at: string;
  kind: string;
  from: string | null;
  to: string | null;
  actor_id: string | null;
  reason: string;
}

export interface TesTask {
  id: string;
  state: string;
  name?: string;
  description?: string;
  creation_time?: string;
  inputs?: { url?: string; path: string; type?: string; content?: string; name?: string }[];
  outputs?: { url: string; path: string; type?: string; name?: string }[];
  executors?: { image: string; command: string[]; workdir?: string }[];
  resources?: { cpu_cores?: number; ram_gb?: number; disk_gb?: number; zones?: string[] };
  tags?: Record<string, string>;
  logs?: {
    start_time?: string;
    end_time?: string;
    system_logs?: string[];
    logs?: { exit_code?: number }[];
  }[];
}

export interface TaskEvent {
  time: string;
  from: string | null;
  to: string;
  site_id: string | null;
  attempt: number;
  reason: string;
  kind: string;
}

export interface Candidate {
  siteId: string;
  slug: string;
  feasible: boolean;
  unmet?: { requirement: string; detail: string }[];
  placeable: boolean;
  blocked?: string;
  queueWaitS: number;
  transferS: number;
  runS: number;
  totalS: number;
  wanBytes: number;
}

export interface PlacementRecord {
  policy: string;
  decided_at: string;
  attempt: number;
  decision: 'place' | 'wait' | 'infeasible';
  site_id?: string;
  site?: string;
  reason?: string;
  candidates: Candidate[];
}

export interface TaskPlacement {
  task_id: string;
  state: string;
  attempt: number;
  excluded_site_ids: string[];
  placement: PlacementRecord | null;
  preview?: PlacementRecord;
}

export interface SiteActivity {
  site_id: string;
  hours: number;
  step_seconds: number;
  load: { at: string; running: number }[];
  recent_tasks: { id: string; name: string | null; state: string; creation_time: string }[];
}

export interface TaskSearchPage {
  tasks: {
    id: string;
    name: string | null;
    state: string;
    creation_time: string;
    submitter_id: string;
    submitter: string;
    site_id: string | null;
    site: string | null;
  }[];
  next_page_token?: string;
}
