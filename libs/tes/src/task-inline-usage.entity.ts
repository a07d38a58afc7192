import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PrincipalEntity } from '@constellation/auth';

/**
 * Bytes of inline content a submitter's unfinished tasks hold, kept as a running total: creates add to it
 * (and are refused past CONSTELLATION_MAX_QUEUED_INLINE_BYTES), and the triggers of migration
 * TaskInputContent1764000600000 take a task's share back when it finishes or is deleted.
 */
@Entity({ name: 'task_inline_usage' })
export class TaskInlineUsageEntity {
  @PrimaryColumn('uuid', { name: 'submitter_id', primaryKeyConstraintName: 'task_inline_usage_pkey' })
  submitterId!: string;

  @ManyToOne(() => PrincipalEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'submitter_id', foreignKeyConstraintName: 'task_inline_usage_submitter_id_fkey' })
  submitter?: PrincipalEntity;

  @Column('bigint')
  bytes!: string;
}
