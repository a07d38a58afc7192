import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PrincipalEntity } from '@constellation/auth';
import { TaskEntity } from './task.entity';

/** The task an Idempotency-Key created, per submitter; forgotten after a day (see task-create.repository.ts). */
@Entity({ name: 'task_idempotency_key' })
@Index('task_idempotency_key_created_at_idx', ['createdAt'])
@Index('task_idempotency_key_task_id_idx', ['taskId'])
export class TaskIdempotencyKeyEntity {
  @PrimaryColumn('uuid', { name: 'principal_id', primaryKeyConstraintName: 'task_idempotency_key_pkey' })
  principalId!: string;

  @PrimaryColumn('text', { primaryKeyConstraintName: 'task_idempotency_key_pkey' })
  key!: string;

  @ManyToOne(() => PrincipalEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'principal_id', foreignKeyConstraintName: 'task_idempotency_key_principal_id_fkey' })
  principal?: PrincipalEntity;

  /** SHA-256 of the request body in canonical JSON: a reuse of the key with another body is refused. */
  @Column('bytea', { name: 'request_hash' })
  requestHash!: Buffer;

  @Column('uuid', { name: 'task_id' })
  taskId!: string;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'task_idempotency_key_task_id_fkey' })
  task?: TaskEntity;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
