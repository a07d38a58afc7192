import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, VersionColumn } from 'typeorm';
import { PrincipalEntity } from '@constellation/auth';
import type { TaskDocument, TesState, TesTaskLog } from './tes.types';

@Entity({ name: 'task' })
@Check(
  'task_state_check',
  `"state" IN ('UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED', 'CANCELING')`,
)
@Index('task_submitter_id_state_id_idx', ['submitterId', 'state', 'id'])
@Index('task_state_id_idx', ['state', 'id'])
@Index('task_created_at_id_idx', ['createdAt', 'id'])
@Index('task_submitter_id_created_at_id_idx', ['submitterId', 'createdAt', 'id'])
@Index('task_site_id_created_at_id_idx', ['siteId', 'createdAt', 'id'])
// Details TypeORM cannot model (INCLUDE, operator classes, partial indexes); created in the migrations and
// left alone by the schema diff.
@Index('task_submitter_id_id_idx', { synchronize: false })
@Index('task_submitter_id_name_idx', { synchronize: false })
@Index('task_name_idx', { synchronize: false })
@Index('task_dispatch_due_idx', { synchronize: false })
@Index('task_site_id_active_idx', { synchronize: false })
@Index('task_remote_id_active_idx', { synchronize: false })
@Index('task_submit_due_idx', { synchronize: false })
@Index('task_track_due_idx', { synchronize: false })
export class TaskEntity {
  /** UUIDv7: time-ordered, so `ORDER BY id DESC` is newest first and serves as the keyset cursor. */
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'task_pkey' })
  id!: string;

  @Column('uuid', { name: 'submitter_id' })
  submitterId!: string;

  @ManyToOne(() => PrincipalEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'submitter_id', foreignKeyConstraintName: 'task_submitter_id_fkey' })
  submitter?: PrincipalEntity;

  @Column('text', { nullable: true })
  name!: string | null;

  @Column('text')
  state!: TesState;

  /** The TES document without `inputs[].content`, which task_input_content holds (TaskInputContentEntity). */
  @Column('jsonb')
  document!: TaskDocument;

  /** UTF-8 bytes of the task's inline contents: what its submitter's quota of unfinished content counts. */
  @Column('bigint', { name: 'content_bytes', default: 0 })
  contentBytes!: string;

  /** What the contents add to the task's FULL JSON text: what a list page's byte budget counts. */
  @Column('bigint', { name: 'content_json_bytes', default: 0 })
  contentJsonBytes!: string;

  @Index('task_tags_idx', { synchronize: false })
  @Column('jsonb', { default: () => "'{}'" })
  tags!: Record<string, string>;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('integer', { name: 'current_attempt', default: 0 })
  currentAttempt!: number;

  @Column('uuid', { name: 'site_id', nullable: true })
  siteId!: string | null;

  @Column('jsonb', { nullable: true })
  placement!: Record<string, unknown> | null;

  @Column('text', { name: 'remote_id', nullable: true })
  remoteId!: string | null;

  @Column('text', { name: 'claimed_by', nullable: true })
  claimedBy!: string | null;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil!: Date | null;

  @Column('timestamptz', { name: 'next_check_at', nullable: true })
  nextCheckAt!: Date | null;

  /** Tracking's current back-off between two status checks of the task at its site (null: none yet). */
  @Column('integer', { name: 'track_interval_ms', nullable: true })
  trackIntervalMs!: number | null;

  /** The TES state the site last reported for the current attempt: a change resets the back-off. */
  @Column('text', { name: 'remote_state', nullable: true })
  remoteState!: TesState | null;

  @Column('jsonb', { default: () => "'[]'" })
  logs!: TesTaskLog[];

  /** Sites that refused or lost an attempt: placement leaves them out of the next one. */
  @Column('uuid', { name: 'excluded_site_ids', array: true, default: () => "'{}'" })
  excludedSiteIds!: string[];

  @Column('integer', { default: 0 })
  preemptions!: number;

  /** When the task last entered QUEUED (null: at creation); CONSTELLATION_MAX_QUEUE_SECONDS counts from it. */
  @Column('timestamptz', { name: 'queued_at', nullable: true })
  queuedAt!: Date | null;

  /** Since when the task's site has failed to answer about it (null: it answers); dispatch gives up after a while. */
  @Column('timestamptz', { name: 'failing_since', nullable: true })
  failingSince!: Date | null;

  /**
   * When a submission of the current attempt went out and no answer came back (null: none in doubt): the site
   * may have made a copy, so dispatch looks for it before it sends the attempt again.
   */
  @Column('timestamptz', { name: 'submit_doubt_at', nullable: true })
  submitDoubtAt!: Date | null;

  /**
   * The attempt a submission claim last let go out (null: none yet). Equal to the current attempt once a send
   * of it may have reached the site, so a later claim of the same attempt looks for that copy before sending;
   * a new attempt differs from it without any reset.
   */
  @Column('integer', { name: 'sent_attempt', nullable: true })
  sentAttempt!: number | null;

  /** Times the broker took the task back from a site queue: attempts the attempt limit does not count. */
  @Column('integer', { name: 'take_backs', default: 0 })
  takeBacks!: number;

  /** When the take-back step last judged the task at its site (null: never); it judges it again after a while. */
  @Column('timestamptz', { name: 'take_back_looked_at', nullable: true })
  takeBackLookedAt!: Date | null;

  /**
   * Not null while the site has finished the attempt and the broker delivers its outputs (a leased dispatch
   * step of its own): how many delivery tries have failed so far.
   */
  @Column('integer', { name: 'delivery_tries', nullable: true })
  deliveryTries!: number | null;

  @VersionColumn()
  version!: number;
}
