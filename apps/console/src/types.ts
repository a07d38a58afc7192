// Shapes of the API answers the console reads (see /openapi.json). Where the API's libraries declare a view
// in a file of types alone, the console takes its type from there (erased at build: nothing is bundled).
import type { SiteEventView, SiteView } from '../../../libs/registry/src/site.views';
import type { AdminState, Health } from '../../../libs/registry/src/registry.types';

export type { AdminState, Health } from '../../../libs/registry/src/registry.types';
export type { TesTask } from '../../../libs/tes/src/tes.types';
export type { TaskSearchPage } from '../../../libs/tes/src/task-search.page';
export type Site = SiteView;
export type SiteEvent = SiteEventView;

/** GET /api/v1/network: its site entries name and place a site like the full view. */
export type NetworkSite = Pick<
  SiteView,
  'id' | 'slug' | 'display_name' | 'country' | 'latitude' | 'longitude'
> & {
  admin_state: Exclude<AdminState, 'pending'>;
  health: Health;
  max_concurrent_tasks: number;
  cores: number | null;
  running: number;
  queued: number;
};

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
  /** Seconds the task was expected to run at the chosen site (its run term), for placed tasks. */
  expected_run_s?: number;
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
