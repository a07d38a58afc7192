import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TaskEntity } from './task.entity';
import type { TesState } from './tes.types';

/**
 * What an event is about: `state`, a change of the task's state; `copy`, a copy of the task that the broker
 * left at a site (after failover or a cancel) and then stopped, or found finished anyway.
 */
export type TaskEventKind = 'state' | 'copy';

/** Append-only history: one row per state change of a task, and per abandoned copy dealt with. */
@Entity({ name: 'task_event' })
@Index('task_event_task_id_created_at_idx', ['taskId', 'createdAt'])
@Index('task_event_site_id_created_at_idx', ['siteId', 'createdAt'])
@Index('task_event_logged_at_idx', ['loggedAt'])
export class TaskEventEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'task_event_pkey' })
  id!: string;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'task_event_task_id_fkey' })
  task?: TaskEntity;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('text', { name: 'from_state', nullable: true })
  fromState!: TesState | null;

  @Column('text', { name: 'to_state' })
  toState!: TesState;

  @Column('uuid', { name: 'site_id', nullable: true })
  siteId!: string | null;

  @Column('integer', { default: 0 })
  attempt!: number;

  @Column('text', { default: '' })
  reason!: string;

  @Column('text', { default: 'state' })
  kind!: TaskEventKind;

  /**
   * The database's clock when the row was inserted (null for rows older than the column): what event
   * streams read new events by, as writers may stamp `created_at` well before they insert.
   */
  @Column('timestamptz', { name: 'logged_at', nullable: true, default: () => 'clock_timestamp()' })
  loggedAt!: Date | null;
}
