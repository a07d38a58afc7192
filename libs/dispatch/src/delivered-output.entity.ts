import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TaskEntity } from '@constellation/tes';

/**
 * An output the broker has written to its destination for one attempt of a task (one job at its site), so a
 * delivery tried again, or taken over from a replica that died, skips it rather than writing it again. Written
 * by DeliveredOutputRepository only; the rows of a delivery go once the attempt has ended.
 */
@Entity({ name: 'delivered_output' })
export class DeliveredOutputEntity {
  @PrimaryColumn('uuid', { name: 'task_id', primaryKeyConstraintName: 'delivered_output_pkey' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'delivered_output_task_id_fkey' })
  task?: TaskEntity;

  /** The job at the site the output came from: a later attempt's outputs are its own. */
  @PrimaryColumn('text', { name: 'remote_id', primaryKeyConstraintName: 'delivered_output_pkey' })
  remoteId!: string;

  /** The output file's destination URL and path in the container (`deliveredOutputKey`). */
  @PrimaryColumn('text', { name: 'output_key', primaryKeyConstraintName: 'delivered_output_pkey' })
  outputKey!: string;

  /** The TES output file log the delivery reported for it. */
  @Column('jsonb')
  log!: Record<string, unknown>;

  @Column('timestamptz', { name: 'delivered_at', default: () => 'now()' })
  deliveredAt!: Date;
}
