import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsService } from '@constellation/observability';
import { SiteCatalog } from '@constellation/registry';
import { TaskLoadRepository } from '@constellation/tes';
import type { AttemptDecision } from './attempt-outcome';

const ACTIVE_STATES = ['QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING'] as const;

/**
 * What dispatch does, for Prometheus: decisions as counters where they are taken, and the current number of
 * unfinished tasks and of sites by health, read from the database when /metrics is scraped (so every
 * replica reports the same figures, whichever did the work).
 */
@Injectable()
export class DispatchMetrics {
  readonly placements: Counter<'decision'>;
  readonly submissions: Counter<'outcome'>;
  readonly requeues: Counter<'cause'>;
  readonly finished: Counter<'state'>;
  readonly roundSeconds: Histogram<'step'>;
  readonly abandonedCopies: Counter<'outcome'>;
  readonly takeBacks: Counter<'outcome'>;
  readonly deliveries: Counter<'outcome'>;
  readonly siteCalls: Counter<'site' | 'call' | 'outcome'>;
  readonly probeFailures: Counter<'site'>;

  constructor(
    metrics: MetricsService,
    @InjectDataSource() db: DataSource,
    catalog: SiteCatalog,
    tasks: TaskLoadRepository,
  ) {
    const registers = [metrics.registry];
    this.placements = new Counter({
      name: 'constellation_dispatch_placements_total',
      help: 'Placement decisions taken by this replica: placed, infeasible, expired (waited too long)',
      labelNames: ['decision'],
      registers,
    });
    this.submissions = new Counter({
      name: 'constellation_dispatch_submissions_total',
      help: 'Submissions to sites by this replica: submitted, retried (site did not answer), refused',
      labelNames: ['outcome'],
      registers,
    });
    this.requeues = new Counter({
      name: 'constellation_dispatch_requeues_total',
      help: 'Tasks sent back to QUEUED by this replica: failover (refused, lost, site offline) or preempted',
      labelNames: ['cause'],
      registers,
    });
    this.finished = new Counter({
      name: 'constellation_dispatch_tasks_finished_total',
      help: 'Tasks this replica saw reach a final state at their site or by dispatch, by state',
      labelNames: ['state'],
      registers,
    });
    this.roundSeconds = new Histogram({
      name: 'constellation_dispatch_step_duration_seconds',
      help: 'Duration of each dispatch step of a round on this replica',
      labelNames: ['step'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.deliveries = new Counter({
      name: 'constellation_dispatch_deliveries_total',
      help: 'Output deliveries by this replica: delivered, failed (the attempt failed), retried, given_up, stopped',
      labelNames: ['outcome'],
      registers,
    });
    this.takeBacks = new Counter({
      name: 'constellation_dispatch_take_backs_total',
      help:
        'Tasks queued at their site past the expected wait that this replica judged: taken_back (cancelled ' +
        'there, placed again), stay (no site promises an earlier completion), started (the site started it ' +
        'meanwhile), cancel_failed (kept where it is)',
      labelNames: ['outcome'],
      registers,
    });
    this.abandonedCopies = new Counter({
      name: 'constellation_dispatch_abandoned_copies_total',
      help:
        'Copies of tasks left at sites that this replica dealt with: stopped, finished_anyway (ran to its end ' +
        'after the task had left; outcome ignored), gone (the site no longer had it), extra (a second copy ' +
        'of one attempt, stopped at once), given_up',
      labelNames: ['outcome'],
      registers,
    });
    this.siteCalls = new Counter({
      name: 'constellation_site_calls_total',
      help:
        'Calls this replica made to sites, by site slug, call (probe, submit, find, copies, status, cancel, ' +
        'cleanup, schemes) and outcome (ok, failed for a probe that answered not ok, or the failure kind)',
      labelNames: ['site', 'call', 'outcome'],
      registers,
    });
    this.probeFailures = new Counter({
      name: 'constellation_site_probe_failures_total',
      help: 'Failed health probes by this replica, by site slug',
      labelNames: ['site'],
      registers,
    });
    new Gauge({
      name: 'constellation_site_tasks',
      help: "The broker's tasks placed on each site, by site slug and state (INITIALIZING, RUNNING, CANCELING)",
      labelNames: ['site', 'state'],
      registers,
      aggregator: 'first',
      async collect() {
        // Slugs come from the registry, which owns the site table; the counts from the task table.
        const [rows, sites] = await Promise.all([tasks.placedBySite(), catalog.summaries()]);
        const slugs = new Map(sites.map((site) => [site.id, site.slug]));
        this.reset();
        for (const r of rows) {
          const slug = slugs.get(r.siteId);
          if (slug !== undefined) this.set({ site: slug, state: r.state }, r.count);
        }
      },
    });
    new Gauge({
      name: 'constellation_abandoned_copies_pending',
      help: 'Copies of tasks left at sites that the broker has yet to stop (the site has not answered since)',
      registers,
      aggregator: 'first',
      async collect() {
        const [{ n }]: { n: number }[] = await db.query('SELECT count(*)::integer AS n FROM abandoned_copy');
        this.set(n);
      },
    });
    new Gauge({
      name: 'constellation_tasks_unfinished',
      help: 'Unfinished tasks in the database, by state',
      labelNames: ['state'],
      registers,
      // Read from the shared database: with several workers each reports the same value, so take one.
      aggregator: 'first',
      async collect() {
        const rows = await tasks.countByState(ACTIVE_STATES);
        this.reset();
        for (const state of ACTIVE_STATES)
          this.set({ state }, rows.find((r) => r.state === state)?.count ?? 0);
      },
    });
    new Gauge({
      name: 'constellation_sites',
      help: 'Registered sites by admin state and observed health',
      labelNames: ['admin_state', 'health'],
      registers,
      aggregator: 'first',
      async collect() {
        const counts = new Map<string, { admin_state: string; health: string; n: number }>();
        for (const site of await catalog.summaries()) {
          const key = `${site.adminState}/${site.health}`;
          const c = counts.get(key) ?? { admin_state: site.adminState, health: site.health, n: 0 };
          c.n++;
          counts.set(key, c);
        }
        this.reset();
        for (const r of counts.values()) this.set({ admin_state: r.admin_state, health: r.health }, r.n);
      },
    });
  }

  /** Counts a decision about an attempt where it is written. */
  decided(decision: AttemptDecision): void {
    if (decision.action === 'finish') this.finished.inc({ state: decision.state });
    else if (decision.action === 'requeue')
      this.requeues.inc({ cause: decision.preempted ? 'preempted' : 'failover' });
  }
}
