import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/**
 * A site's request budget as every replica shares it: a token bucket and the end of its queue of turns, one
 * row per site. Written by RequestBudget only.
 */
@Entity({ name: 'site_request_budget' })
export class SiteRequestBudgetEntity {
  @PrimaryColumn('uuid', { name: 'site_id', primaryKeyConstraintName: 'site_request_budget_pkey' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'site_request_budget_site_id_fkey' })
  site?: unknown;

  /** Requests left in the bucket at `refilledAt`, at most a second's worth. */
  @Column('double precision')
  tokens!: number;

  @Column('timestamptz', { name: 'refilled_at' })
  refilledAt!: Date;

  /** The last turn handed out: a check the bucket could not take waits for one after it. */
  @Column('timestamptz', { name: 'next_turn_at' })
  nextTurnAt!: Date;

  /** Bumped by every take: a take that read the row before another's write is made again. */
  @Column('integer', { default: 0 })
  version!: number;
}
