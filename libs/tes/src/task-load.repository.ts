import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { COLUMNS, DispatchTask, DispatchTaskRow, toDispatchTask } from './dispatch-task';
import type { TesState } from './tes.types';

/** Key of the transaction-level advisory lock under which one replica at a time places queued tasks. */
export const PLACEMENT_LOCK_KEY = 4_171_190_002;

/** Load the broker's own unfinished tasks put on one site (what placement adds to as it places). */
export interface SiteUsage {
  siteId: string;
  running: number;
  queued: number;
  cores: number;
  memoryGib: number;
  gpus: number;
}

export interface SubmitterUsage {
  id: string;
  allowedSiteIds: string[];
  quota: number | null;
  weight: number;
  running: number;
  /** Where the submitter's data lives, if an admin said so. */
  homeDataStoreId: string | null;
}

/** A running task as queue-wait estimates see it (the scheduler's RunningTask). */
export interface RunningTaskLoad {
  cores: number;
  memoryGib: number;
  /** Seconds since the epoch at which the site started it. */
  startedAt: number;
  /** The run time placement expected for it at this site. */
  expectedRunS: number;
}

const GIB_PER_GB = 1e9 / 2 ** 30;

/**
 * The reads of the task table that placement and dispatch's metrics decide by: the queue, and the load the
 * broker's unfinished tasks put on each site and submitter. Placement reads them under its lock.
 */
@Injectable()
export class TaskLoadRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The plain (non-transactional) manager, for reads outside any round. */
  manager(): EntityManager {
    return this.db.manager;
  }

  /**
   * Runs `fn` in one transaction holding the placement lock, so two replicas never fill the same free slot;
   * resolves to null when another replica holds it.
   */
  async underPlacementLock<T>(fn: (m: EntityManager) => Promise<T>): Promise<T | null> {
    return this.db.transaction(async (m) => {
      const [{ locked }]: { locked: boolean }[] = await m.query(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
        [PLACEMENT_LOCK_KEY],
      );
      return locked ? fn(m) : null;
    });
  }

  /**
   * The oldest queued tasks of every submitter (at most `perSubmitter` each, so one submitter's backlog never
   * hides another's). Read without row locks: most of them only wait, and locking hundreds of rows every
   * second would write each one. The placement lock keeps other placers out; a cancel that lands meanwhile
   * is caught by the state check of each write (TaskChangeRepository.writeIfQueued, writePlacements).
   */
  async queuedTasks(m: EntityManager, perSubmitter: number): Promise<DispatchTask[]> {
    // Served by task_submitter_id_state_id_idx: one short index range per principal.
    const rows: DispatchTaskRow[] = await m.query(
      `SELECT q.* FROM principal p
       CROSS JOIN LATERAL (
         SELECT ${COLUMNS} FROM task t
         WHERE t.submitter_id = p.id AND t.state = 'QUEUED' ORDER BY t.id LIMIT $1
       ) q
       ORDER BY q.id`,
      [perSubmitter],
    );
    return rows.map(toDispatchTask);
  }

  /** Per site, the broker's unfinished tasks there and the resources they asked for (TES units → GiB). */
  async siteUsage(m: EntityManager): Promise<SiteUsage[]> {
    const rows: {
      site_id: string;
      running: number;
      queued: number;
      cores: number;
      memory_gib: number;
      gpus: number;
    }[] = await m.query(
      `SELECT site_id,
              count(*) FILTER (WHERE state IN ('RUNNING', 'CANCELING'))::integer AS running,
              count(*) FILTER (WHERE state = 'INITIALIZING')::integer AS queued,
              sum(COALESCE((document #>> '{resources,cpu_cores}')::float8, 1))::float8 AS cores,
              sum(COALESCE((document #>> '{resources,ram_gb}')::float8 * $1,
                           COALESCE((document #>> '{resources,cpu_cores}')::float8, 1) * 3.8))::float8 AS memory_gib,
              sum(COALESCE((document #>> '{resources,backend_parameters,constellation.gpus}')::float8, 0))::float8
                AS gpus
       FROM task
       WHERE state IN ('INITIALIZING', 'RUNNING', 'CANCELING') AND site_id IS NOT NULL
       GROUP BY site_id`,
      [GIB_PER_GB],
    );
    return rows.map((r) => ({
      siteId: r.site_id,
      running: r.running,
      queued: r.queued,
      cores: r.cores,
      memoryGib: r.memory_gib,
      gpus: r.gpus,
    }));
  }

  /**
   * The broker's running tasks per site with the start of their current attempt and the run time placement
   * expected at that site (from the stored placement record): queue-wait estimates floor on their ends.
   * A task whose start or estimate is not recorded is left out (its claim still counts in `siteUsage`).
   */
  async runningTasks(m: EntityManager): Promise<Map<string, RunningTaskLoad[]>> {
    const rows: {
      site_id: string;
      cores: number;
      memory_gib: number;
      started_at: Date | null;
      expected_run_s: number | null;
    }[] = await m.query(
      `SELECT t.site_id,
              COALESCE((t.document #>> '{resources,cpu_cores}')::float8, 1) AS cores,
              COALESCE((t.document #>> '{resources,ram_gb}')::float8 * $1,
                       COALESCE((t.document #>> '{resources,cpu_cores}')::float8, 1) * 3.8) AS memory_gib,
              (SELECT max(e.created_at) FROM task_event e
                 WHERE e.task_id = t.id AND e.attempt = t.current_attempt AND e.kind = 'state'
                   AND e.to_state = 'RUNNING') AS started_at,
              COALESCE((t.placement ->> 'expected_run_s')::float8,
                       -- Placements recorded before expected_run_s: the chosen site's candidate.
                       (SELECT (c ->> 'runS')::float8 FROM jsonb_array_elements(t.placement -> 'candidates') c
                          WHERE c ->> 'siteId' = t.site_id::text LIMIT 1)) AS expected_run_s
       FROM task t
       WHERE t.state IN ('RUNNING', 'CANCELING') AND t.site_id IS NOT NULL`,
      [GIB_PER_GB],
    );
    const bySite = new Map<string, RunningTaskLoad[]>();
    for (const r of rows) {
      if (r.started_at === null || r.expected_run_s === null) continue;
      const list = bySite.get(r.site_id) ?? [];
      list.push({
        cores: r.cores,
        memoryGib: r.memory_gib,
        startedAt: r.started_at.getTime() / 1000,
        expectedRunS: r.expected_run_s,
      });
      bySite.set(r.site_id, list);
    }
    return bySite;
  }

  async submitters(m: EntityManager, ids: string[]): Promise<SubmitterUsage[]> {
    if (ids.length === 0) return [];
    const rows: {
      id: string;
      allowed_site_ids: string[];
      max_running_tasks: number | null;
      share_weight: number;
      running: number;
      home_data_store_id: string | null;
    }[] = await m.query(
      `SELECT p.id, p.allowed_site_ids, p.max_running_tasks, p.share_weight, p.home_data_store_id,
              (SELECT count(*)::integer FROM task t
                 WHERE t.submitter_id = p.id AND t.state IN ('INITIALIZING', 'RUNNING', 'CANCELING')) AS running
       FROM principal p WHERE p.id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => ({
      id: r.id,
      allowedSiteIds: r.allowed_site_ids,
      quota: r.max_running_tasks,
      weight: r.share_weight,
      running: r.running,
      homeDataStoreId: r.home_data_store_id,
    }));
  }

  /** The broker's tasks placed on each site, by site and state (INITIALIZING, RUNNING, CANCELING). */
  async placedBySite(): Promise<{ siteId: string; state: TesState; count: number }[]> {
    const rows: { site_id: string; state: TesState; n: number }[] = await this.db.query(
      `SELECT site_id, state, count(*)::integer AS n FROM task
       WHERE site_id IS NOT NULL AND state IN ('INITIALIZING', 'RUNNING', 'CANCELING')
       GROUP BY site_id, state`,
    );
    return rows.map((r) => ({ siteId: r.site_id, state: r.state, count: r.n }));
  }

  /** How many tasks are in each of `states` (a state with none is left out). */
  async countByState(states: readonly TesState[]): Promise<{ state: TesState; count: number }[]> {
    const rows: { state: TesState; n: number }[] = await this.db.query(
      `SELECT state, count(*)::integer AS n FROM task WHERE state = ANY($1::text[]) GROUP BY state`,
      [states],
    );
    return rows.map((r) => ({ state: r.state, count: r.n }));
  }
}
