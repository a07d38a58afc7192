/** Value sets of the registry, shared by entities (CHECK constraints), validators and the OpenAPI. */
export const SITE_KINDS = ['tes', 'pulsar-rest', 'pulsar-amqp'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

/** What people decided about a site. */
export const ADMIN_STATES = ['pending', 'active', 'draining', 'disabled'] as const;
export type AdminState = (typeof ADMIN_STATES)[number];

/** What the probes observed; independent of the admin state. */
export const HEALTH_STATES = ['unknown', 'up', 'offline'] as const;
export type Health = (typeof HEALTH_STATES)[number];

export const RUNTIMES = ['docker', 'singularity', 'apptainer', 'none'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export const SITE_EVENT_KINDS = ['registered', 'updated', 'admin_state', 'health', 'self_test'] as const;
export type SiteEventKind = (typeof SITE_EVENT_KINDS)[number];

/** Admin states whose sites are probed and may receive work (ARCHITECTURE.md, "Task life cycle"). */
export const PROBED_STATES: readonly AdminState[] = ['active', 'draining'];

/** One step of a site self-test, as POST /api/v1/sites/{id}/test answers it. */
export interface SelfTestStep {
  name: string;
  ok: boolean;
  duration_ms: number;
  detail: string;
}

/** A self-test run; the last one is kept with the site (`last_self_test`). */
export interface SelfTestResult {
  ok: boolean;
  started_at: string;
  finished_at: string;
  steps: SelfTestStep[];
}

/** Pulsar's AMQP consumer listens per manager; Constellation's sites use this one unless told otherwise. */
export const DEFAULT_AMQP_MANAGER = 'constellation';

/** SQL list of a value set, for CHECK constraints that must match the TypeScript unions exactly. */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}
