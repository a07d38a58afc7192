import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/**
 * How tracking paces a site that answers for all its tasks in one list (TES): the site is walked, not each
 * task checked, so the back-off and the claim live here, one row per site, and a walk that finds nothing
 * new writes no task row. Written by TrackingRepository only.
 */
@Entity({ name: 'site_tracking' })
export class SiteTrackingEntity {
  @PrimaryColumn('uuid', { name: 'site_id', primaryKeyConstraintName: 'site_tracking_pkey' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'site_tracking_site_id_fkey' })
  site?: unknown;

  @Column('timestamptz', { name: 'next_walk_at' })
  nextWalkAt!: Date;

  /** The walk's current back-off; null before the first walk. */
  @Column('integer', { name: 'walk_interval_ms', nullable: true })
  walkIntervalMs!: number | null;

  @Column('text', { name: 'claimed_by', nullable: true })
  claimedBy!: string | null;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil!: Date | null;
}
