import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/**
 * One file of the job-files endpoint: staged (a site GETs it) or posted (a site POSTed it). Its bytes are in
 * `job_file_chunk`; a row becomes `complete` once every chunk is written, and a retried POST replaces the
 * earlier complete copy in the same transaction, so readers never see half a file.
 */
@Entity({ name: 'job_file' })
@Index('job_file_job_id_kind_path_idx', ['jobId', 'kind', 'path'])
export class JobFileEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'job_file_pkey' })
  id!: string;

  @Column('text', { name: 'job_id' })
  jobId!: string;

  /** `staged` or `posted`. */
  @Column('text')
  kind!: string;

  /** Relative, '/'-separated, normalised (JobFilesStore.relative). */
  @Column('text')
  path!: string;

  @Column('bigint', { default: 0 })
  size!: string;

  @Column('boolean', { default: false })
  complete!: boolean;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}

/** A slice of a job file's bytes, written once. */
@Entity({ name: 'job_file_chunk' })
export class JobFileChunkEntity {
  @PrimaryColumn('uuid', { name: 'file_id', primaryKeyConstraintName: 'job_file_chunk_pkey' })
  fileId!: string;

  @PrimaryColumn('integer', { name: 'chunk_index', primaryKeyConstraintName: 'job_file_chunk_pkey' })
  chunkIndex!: number;

  @ManyToOne(() => JobFileEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'file_id', foreignKeyConstraintName: 'job_file_chunk_file_id_fkey' })
  file?: JobFileEntity;

  @Column('bytea')
  data!: Buffer;
}

/** A job whose files were removed (its attempt ended): a late upload for it is refused. */
@Entity({ name: 'job_files_removed' })
export class JobFilesRemovedEntity {
  @PrimaryColumn('text', { name: 'job_id', primaryKeyConstraintName: 'job_files_removed_pkey' })
  jobId!: string;

  @Column('timestamptz', { name: 'removed_at' })
  removedAt!: Date;
}

export const JOB_FILES_ENTITIES = [JobFileEntity, JobFileChunkEntity, JobFilesRemovedEntity];
