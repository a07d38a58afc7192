import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { SITE_EVENT_KINDS, SiteEventKind, sqlList } from './registry.types';
import { SiteEntity } from './site.entity';

/** Append-only history of a site: registration, edits, admin-state and health changes, with who or what. */
@Entity({ name: 'site_event' })
@Check('site_event_kind_check', `"kind" IN (${sqlList(SITE_EVENT_KINDS)})`)
@Index('site_event_site_id_created_at_idx', ['siteId', 'createdAt'])
export class SiteEventEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'site_event_pkey' })
  id!: string;

  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'site_event_site_id_fkey' })
  site?: SiteEntity;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('text')
  kind!: SiteEventKind;

  @Column('text', { name: 'from_value', nullable: true })
  fromValue!: string | null;

  @Column('text', { name: 'to_value', nullable: true })
  toValue!: string | null;

  /** The principal who acted; null when the broker itself did (probes). */
  @Column('uuid', { name: 'actor_id', nullable: true })
  actorId!: string | null;

  @Column('text')
  reason!: string;
}
