import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { newId } from '@constellation/common';
import { AdminState, Health, SiteKind } from './registry.types';

/** Key of the transaction-level advisory lock that lets one replica at a time refresh site load. */
export const LOAD_REFRESH_LOCK_KEY = 4_171_190_001;

/** What a probe needs to know about a site it claimed. */
export interface ProbeTarget {
  id: string;
  slug: string;
  kind: SiteKind;
  url: string | null;
  /** Pending sites are probed less often than active and draining ones. */
  adminState: AdminState;
}

export interface ProbeOutcome {
  ok: boolean;
  latencyMs: number | null;
  version?: string | null;
  /** Why it failed, in words without secrets (the URL never carries credentials). */
  error?: string;
  /** What the site reported about its own queue, when its adapter can ask. */
  load?: { running: number; queued: number };
  /** The URL schemes the site fetches and pushes itself ('*': any), when the probe could tell. */
  schemes?: { inputs: string[]; outputs: string[] };
}

export interface HealthChange {
  siteId: string;
  slug: string;
  from: Health;
  to: Health;
}

/**
 * Stored health and load of sites: the SQL behind the probe loop. Probes claim sites with a lease
 * (FOR UPDATE SKIP LOCKED), so replicas never probe one site at once and a dead replica's claims expire.
 */
@Injectable()
export class SiteHealthRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `limit` pending, active or draining sites whose probe is due at `now` and whose lease is free,
   * leaving out the ids in `exclude` (those already probed this round), or only the site `only` when given.
   * The due time moves to the end of the lease: a replica that dies mid-probe leaves the site due again
   * when its lease runs out, and an admin action that makes the site due meanwhile (clearing the due time)
   * stays visible to `record`.
   */
  async claimDue(
    replica: string,
    now: Date,
    leaseSeconds: number,
    limit: number,
    exclude: readonly string[] = [],
    only: string | null = null,
  ): Promise<ProbeTarget[]> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [rows]: [
      { id: string; slug: string; kind: SiteKind; url: string | null; admin_state: AdminState }[],
      number,
    ] = await this.db.query(
      `UPDATE site SET probe_claimed_by = $1, probe_lease_until = $2::timestamptz + make_interval(secs => $3),
           next_probe_at = $2::timestamptz + make_interval(secs => $3)
       WHERE id IN (
         SELECT id FROM site
         WHERE admin_state IN ('pending', 'active', 'draining')
           AND (next_probe_at IS NULL OR next_probe_at <= $2)
           AND (probe_lease_until IS NULL OR probe_lease_until < $2)
           AND NOT (id = ANY($5::uuid[]))
           AND ($6::uuid IS NULL OR id = $6::uuid)
         ORDER BY next_probe_at NULLS FIRST, id
         LIMIT $4
         FOR UPDATE SKIP LOCKED)
       RETURNING id, slug, kind, url, admin_state`,
      [replica, now, leaseSeconds, limit, exclude, only],
    );
    return rows.map((r) => ({ id: r.id, slug: r.slug, kind: r.kind, url: r.url, adminState: r.admin_state }));
  }

  /**
   * Extends this replica's lease on a site it is probing; false once the claim is no longer its own (the lease
   * ran out and another replica took the site). A due time an admin action cleared meanwhile stays cleared.
   */
  async renewProbe(siteId: string, replica: string, now: Date, leaseSeconds: number): Promise<boolean> {
    const [, affected]: [unknown[], number] = await this.db.query(
      `UPDATE site SET probe_lease_until = $3::timestamptz + make_interval(secs => $4),
           next_probe_at = CASE WHEN next_probe_at IS NULL THEN NULL
                                ELSE $3::timestamptz + make_interval(secs => $4) END
       WHERE id = $1 AND probe_claimed_by = $2 AND probe_lease_until >= $3`,
      [siteId, replica, now, leaseSeconds],
    );
    return affected > 0;
  }

  /** Hands a claimed site back unprobed, due at once, so another replica need not wait out the lease. */
  async releaseProbe(siteId: string, replica: string, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE site SET probe_claimed_by = NULL, probe_lease_until = NULL,
           next_probe_at = CASE WHEN next_probe_at IS NULL THEN NULL ELSE $3::timestamptz END
       WHERE id = $1 AND probe_claimed_by = $2`,
      [siteId, replica, now],
    );
  }

  /**
   * Records one probe and releases the lease. Health goes `offline` after `failureThreshold` consecutive
   * failures and `up` on any success; admin_state is never touched. A change is written as a site_event in
   * the same transaction. The next probe is due at `nextProbeAt`, unless an admin action cleared the due
   * time while this probe ran (it may have probed the old URL or token): then the site stays due at once.
   * Returns the change, or null (none, or the lease was lost to another replica).
   */
  async record(
    siteId: string,
    replica: string,
    outcome: ProbeOutcome,
    now: Date,
    nextProbeAt: Date,
    failureThreshold: number,
  ): Promise<HealthChange | null> {
    return this.db.transaction(async (m) => {
      const rows: { slug: string; health: Health; consecutive_failures: number }[] = await m.query(
        `SELECT slug, health, consecutive_failures FROM site WHERE id = $1 AND probe_claimed_by = $2 FOR UPDATE`,
        [siteId, replica],
      );
      if (rows.length === 0) return null;
      const { slug, health } = rows[0];
      const failures = outcome.ok ? 0 : rows[0].consecutive_failures + 1;
      let next: Health = health;
      if (outcome.ok) next = 'up';
      else if (failures >= failureThreshold) next = 'offline';
      await m.query(
        `UPDATE site SET
           health = $3, consecutive_failures = $4, last_probe_at = $5,
           last_ok_at = CASE WHEN $6 THEN $5 ELSE last_ok_at END,
           latency_ms = $7, remote_version = COALESCE($8, remote_version), last_probe_error = $9,
           reported_running = CASE WHEN $10::integer IS NULL THEN reported_running ELSE $10 END,
           reported_queued = CASE WHEN $11::integer IS NULL THEN reported_queued ELSE $11 END,
           next_probe_at = CASE WHEN next_probe_at IS NULL THEN NULL ELSE $12::timestamptz END,
           input_schemes = COALESCE($13::text[], input_schemes),
           output_schemes = COALESCE($14::text[], output_schemes),
           probe_claimed_by = NULL, probe_lease_until = NULL
         WHERE id = $1 AND probe_claimed_by = $2`,
        [
          siteId,
          replica,
          next,
          failures,
          now,
          outcome.ok,
          outcome.latencyMs,
          outcome.version ?? null,
          outcome.ok ? null : (outcome.error ?? 'probe failed'),
          outcome.load?.running ?? null,
          outcome.load?.queued ?? null,
          nextProbeAt,
          outcome.schemes?.inputs ?? null,
          outcome.schemes?.outputs ?? null,
        ],
      );
      if (next === health) return null;
      const reason = outcome.ok
        ? `probe succeeded in ${outcome.latencyMs} ms`
        : `${failures} consecutive probe failures; last: ${outcome.error ?? 'probe failed'}`;
      await m.query(
        `INSERT INTO site_event (id, site_id, created_at, kind, from_value, to_value, actor_id, reason)
         VALUES ($1, $2, $3, 'health', $4, $5, NULL, $6)`,
        [newId(), siteId, now, health, next, reason],
      );
      return { siteId, slug, from: health, to: next };
    });
  }

  /**
   * Recomputes every site's load from the broker's own task table: tasks placed there and running (or being
   * cancelled) count as running, tasks placed and not yet started as queued. The estimated wait is 0 while
   * an admission slot is free; beyond that it needs run times learned from completions, so it stays null
   * until the site reports its own queue. Only rows whose load changed are written (so load_updated_at is
   * when the load last changed), and only one replica refreshes at a time: the others skip the tick.
   * Returns false when another replica held the lock.
   */
  async refreshOwnLoad(now: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const [{ locked }]: { locked: boolean }[] = await m.query(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
        [LOAD_REFRESH_LOCK_KEY],
      );
      if (!locked) return false;
      await m.query(
        `UPDATE site s SET
           running_tasks = n.running,
           queued_tasks = n.queued,
           estimated_wait_seconds = n.wait,
           load_updated_at = $1
         FROM (
           SELECT s2.id,
                  COALESCE(c.running, 0) AS running,
                  COALESCE(c.queued, 0) AS queued,
                  CASE
                    WHEN COALESCE(c.running, 0) + COALESCE(c.queued, 0) < s2.max_concurrent_tasks
                      AND COALESCE(s2.reported_queued, 0) = 0 THEN 0
                    ELSE NULL END AS wait
           FROM site s2
           LEFT JOIN (
             SELECT site_id,
                    count(*) FILTER (WHERE state IN ('RUNNING', 'CANCELING'))::integer AS running,
                    count(*) FILTER (WHERE state = 'INITIALIZING')::integer AS queued
             FROM task
             WHERE site_id IS NOT NULL AND state IN ('INITIALIZING', 'RUNNING', 'CANCELING')
             GROUP BY site_id
           ) c ON c.site_id = s2.id
         ) n
         WHERE s.id = n.id
           AND (s.load_updated_at IS NULL
             OR s.running_tasks IS DISTINCT FROM n.running
             OR s.queued_tasks IS DISTINCT FROM n.queued
             OR s.estimated_wait_seconds IS DISTINCT FROM n.wait)`,
        [now],
      );
      return true;
    });
  }
}
