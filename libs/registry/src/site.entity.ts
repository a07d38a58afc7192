import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PrincipalEntity } from '@constellation/auth';
import {
  ADMIN_STATES,
  AdminState,
  Health,
  HEALTH_STATES,
  Runtime,
  SITE_KINDS,
  SelfTestResult,
  SiteKind,
  sqlList,
} from './registry.types';

/**
 * A Pulsar or TES site. `admin_state` is what people decided, `health` what probes saw; they never change
 * each other. Capacity totals and per-task maxima are nullable because most Pulsar sites publish only
 * per-task limits. Credentials are stored only encrypted (see credential-cipher.ts).
 */
@Entity({ name: 'site' })
@Check('site_kind_check', `"kind" IN (${sqlList(SITE_KINDS)})`)
@Check('site_admin_state_check', `"admin_state" IN (${sqlList(ADMIN_STATES)})`)
@Check('site_health_check', `"health" IN (${sqlList(HEALTH_STATES)})`)
@Check('site_max_concurrent_tasks_check', `"max_concurrent_tasks" > 0`)
@Index('site_owner_id_idx', ['ownerId'])
@Index('site_admin_state_idx', ['adminState'])
// Covers the probe claim: only pending, active and draining sites are ever due.
@Index('site_probe_due_idx', ['nextProbeAt'], { where: `"admin_state" IN ('pending', 'active', 'draining')` })
export class SiteEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'site_pkey' })
  id!: string;

  @Index('site_slug_key', { unique: true })
  @Column('text')
  slug!: string;

  @Column('text', { name: 'display_name' })
  displayName!: string;

  @Column('text')
  country!: string;

  @Column('double precision', { nullable: true })
  latitude!: number | null;

  @Column('double precision', { nullable: true })
  longitude!: number | null;

  @Column('text')
  kind!: SiteKind;

  /** Null only for a pulsar-amqp site that uses the broker's AMQP_URL. */
  @Column('text', { nullable: true })
  url!: string | null;

  @Column('text', { name: 'pulsar_manager', nullable: true })
  pulsarManager!: string | null;

  /** AES-256-GCM: version byte, 12-byte IV, 16-byte tag, ciphertext of the credentials' JSON. */
  @Column('bytea', { name: 'credentials_encrypted', nullable: true })
  credentialsEncrypted!: Buffer | null;

  @Column('text', { name: 'admin_state' })
  adminState!: AdminState;

  @Column('text')
  health!: Health;

  @Column('integer', { name: 'max_concurrent_tasks' })
  maxConcurrentTasks!: number;

  @Column('integer', { name: 'total_cores', nullable: true })
  totalCores!: number | null;

  @Column('double precision', { name: 'total_memory_gib', nullable: true })
  totalMemoryGib!: number | null;

  @Column('integer', { name: 'total_gpus', nullable: true })
  totalGpus!: number | null;

  @Column('text', { name: 'gpu_type', nullable: true })
  gpuType!: string | null;

  @Column('double precision', { name: 'total_disk_gib', nullable: true })
  totalDiskGib!: number | null;

  @Column('integer', { name: 'max_task_cores', nullable: true })
  maxTaskCores!: number | null;

  @Column('double precision', { name: 'max_task_memory_gib', nullable: true })
  maxTaskMemoryGib!: number | null;

  @Column('integer', { name: 'max_task_gpus', nullable: true })
  maxTaskGpus!: number | null;

  @Column('double precision', { name: 'max_task_disk_gib', nullable: true })
  maxTaskDiskGib!: number | null;

  @Column('text', { array: true })
  runtimes!: Runtime[];

  /**
   * Lowercase URL schemes the site fetches inputs from ('*': any), as its last successful probe found them;
   * null until then.
   */
  @Column('text', { name: 'input_schemes', array: true, nullable: true })
  inputSchemes!: string[] | null;

  /** The same for outputs it pushes itself. */
  @Column('text', { name: 'output_schemes', array: true, nullable: true })
  outputSchemes!: string[] | null;
  /** With runtime `none`: the executors' images are not used and their commands run on the host. */
  @Column('boolean', { name: 'run_images_on_host', default: false })
  runImagesOnHost!: boolean;

  /** Singularity/Apptainer cache for pulled `docker://` images (SINGULARITY_CACHEDIR, APPTAINER_CACHEDIR). */
  @Column('text', { name: 'image_cache_dir', nullable: true })
  imageCacheDir!: string | null;

  /** A folder of unpacked images named `<name>:<tag>`, e.g. /cvmfs/singularity.galaxyproject.org/all. */
  @Column('text', { name: 'cvmfs_image_root', nullable: true })
  cvmfsImageRoot!: string | null;

  /** Data stores close to the site (no transfer cost); ids of data_store rows, kept in step on delete. */
  @Column('uuid', { name: 'local_data_store_ids', array: true })
  localDataStoreIds!: string[];

  @Column('jsonb')
  tags!: Record<string, string>;

  @Column('uuid', { name: 'owner_id' })
  ownerId!: string;

  // RESTRICT: a provider who still owns sites cannot be deleted by accident; disable the sites first.
  @ManyToOne(() => PrincipalEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'site_owner_id_fkey' })
  owner?: PrincipalEntity;

  @Column('timestamptz', { name: 'last_probe_at', nullable: true })
  lastProbeAt!: Date | null;

  @Column('timestamptz', { name: 'last_ok_at', nullable: true })
  lastOkAt!: Date | null;

  @Column('integer', { name: 'consecutive_failures' })
  consecutiveFailures!: number;

  @Column('integer', { name: 'latency_ms', nullable: true })
  latencyMs!: number | null;

  @Column('text', { name: 'remote_version', nullable: true })
  remoteVersion!: string | null;

  @Column('text', { name: 'last_probe_error', nullable: true })
  lastProbeError!: string | null;

  /** Probe lease: the replica probing this site now, until when; an expired lease is free to take. */
  @Column('text', { name: 'probe_claimed_by', nullable: true })
  probeClaimedBy!: string | null;

  @Column('timestamptz', { name: 'probe_lease_until', nullable: true })
  probeLeaseUntil!: Date | null;

  @Column('timestamptz', { name: 'next_probe_at', nullable: true })
  nextProbeAt!: Date | null;

  /** The broker's own tasks at the site (from the task table). */
  @Column('integer', { name: 'running_tasks' })
  runningTasks!: number;

  @Column('integer', { name: 'queued_tasks' })
  queuedTasks!: number;

  /** What the site itself reported at its last probe (other clients' jobs included); null until it does. */
  @Column('integer', { name: 'reported_running', nullable: true })
  reportedRunning!: number | null;

  @Column('integer', { name: 'reported_queued', nullable: true })
  reportedQueued!: number | null;

  @Column('double precision', { name: 'estimated_wait_seconds', nullable: true })
  estimatedWaitSeconds!: number | null;

  @Column('timestamptz', { name: 'load_updated_at', nullable: true })
  loadUpdatedAt!: Date | null;

  /** Learned from completions: a task runs in reference time / speed_factor here. */
  @Column('double precision', { name: 'speed_factor' })
  speedFactor!: number;

  /** The last self-test run (POST /api/v1/sites/{id}/test); null until the first. */
  @Column('jsonb', { name: 'last_self_test', nullable: true })
  lastSelfTest!: SelfTestResult | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
