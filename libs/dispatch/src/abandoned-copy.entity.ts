import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TaskEntity } from '@constellation/tes';
import { SelfTestFileEntity } from './self-test/self-test-file.entity';

/**
 * A copy of a task that the broker no longer follows but that may still run at its site: left behind by a
 * failover or by a cancel while the site was offline (`remote_id` known), or by a submission whose answer
 * never came (`remote_id` null: every copy of that attempt at the site other than the live one). Dispatch
 * stops it once the site answers again, records what it found on the task, and deletes the row.
 */
@Entity({ name: 'abandoned_copy' })
@Index('abandoned_copy_next_check_at_idx', ['nextCheckAt'])
@Index('abandoned_copy_task_id_idx', ['taskId'])
export class AbandonedCopyEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'abandoned_copy_pkey' })
  id!: string;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'abandoned_copy_task_id_fkey' })
  task?: TaskEntity;

  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'abandoned_copy_site_id_fkey' })
  site?: unknown;

  @Column('integer')
  attempt!: number;

  @Column('text', { name: 'remote_id', nullable: true })
  remoteId!: string | null;

  /** Why the copy was left, as the task's events said then. */
  @Column('text')
  reason!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'next_check_at' })
  nextCheckAt!: Date;

  @Column('text', { name: 'claimed_by', nullable: true })
  claimedBy!: string | null;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil!: Date | null;

  /** Visits that could not settle the copy (the site did not answer, or the live copy was not yet known). */
  @Column('integer', { default: 0 })
  tries!: number;
}

export const DISPATCH_ENTITIES = [AbandonedCopyEntity, SelfTestFileEntity];
