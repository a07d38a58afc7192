import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TaskEntity } from './task.entity';

/**
 * One input's inline `content`, stored apart from the task document so that the readers of the document
 * (placement, tracking, BASIC views) never load it; read only by FULL views and by submission to a site.
 */
@Entity({ name: 'task_input_content' })
export class TaskInputContentEntity {
  @PrimaryColumn('uuid', { name: 'task_id', primaryKeyConstraintName: 'task_input_content_pkey' })
  taskId!: string;

  /** The input's place in the document's `inputs`, from 0. */
  @PrimaryColumn('integer', { name: 'input_index', primaryKeyConstraintName: 'task_input_content_pkey' })
  inputIndex!: number;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'task_input_content_task_id_fkey' })
  task?: TaskEntity;

  @Column('text')
  content!: string;
}
