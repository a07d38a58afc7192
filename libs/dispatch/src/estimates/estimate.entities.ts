import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/**
 * Decayed sums of a regression of ln(run time) on ln(input GB) (see `RunTimeStats` in the scheduler): one
 * row per tool fingerprint, and per fingerprint and site. Sums, not raw runs, so a row stays one row.
 */
export class RunTimeStatsColumns {
  @Column('double precision')
  runs!: number;

  @Column('double precision')
  sx!: number;

  @Column('double precision')
  sy!: number;

  @Column('double precision')
  sxx!: number;

  @Column('double precision')
  sxy!: number;

  @Column('double precision')
  syy!: number;

  /** When the sums were last decayed: the time of the last run they took in. */
  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}

@Entity({ name: 'tool_estimate' })
export class ToolEstimateEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'tool_estimate_pkey' })
  fingerprint!: string;

  /** How the estimate names the tool: `bwa_mem2 2.2.1+galaxy1`, `samtools sort (samtools 1.19)`. */
  @Column('text')
  label!: string;

  @Column(() => RunTimeStatsColumns, { prefix: false })
  stats!: RunTimeStatsColumns;
}

@Entity({ name: 'tool_site_estimate' })
@Index('tool_site_estimate_site_id_idx', ['siteId'])
export class ToolSiteEstimateEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'tool_site_estimate_pkey' })
  fingerprint!: string;

  @PrimaryColumn('uuid', { name: 'site_id', primaryKeyConstraintName: 'tool_site_estimate_pkey' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'tool_site_estimate_site_id_fkey' })
  site?: unknown;

  @Column(() => RunTimeStatsColumns, { prefix: false })
  stats!: RunTimeStatsColumns;
}

/** What the broker learned about a site from the attempts that finished there (`SiteStats`). */
@Entity({ name: 'site_estimate' })
export class SiteEstimateEntity {
  @PrimaryColumn('uuid', { name: 'site_id', primaryKeyConstraintName: 'site_estimate_pkey' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'site_estimate_site_id_fkey' })
  site?: unknown;

  @Column('double precision', { name: 'speed_runs' })
  speedRuns!: number;

  @Column('double precision', { name: 'log_speed_sum' })
  logSpeedSum!: number;

  @Column('double precision', { name: 'core_run_sum' })
  coreRunSum!: number;

  @Column('double precision', { name: 'core_sum' })
  coreSum!: number;

  /** The last queue times (submitted to running), oldest first, bounded by the estimator's window. */
  @Column('double precision', { name: 'recent_queue_s', array: true, default: () => "'{}'" })
  recentQueueS!: number[];

  @Column('double precision', { name: 'recent_run_s', array: true, default: () => "'{}'" })
  recentRunS!: number[];

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}

export const ESTIMATE_ENTITIES = [ToolEstimateEntity, ToolSiteEstimateEntity, SiteEstimateEntity];
