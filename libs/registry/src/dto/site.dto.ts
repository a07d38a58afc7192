import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ADMIN_STATES, HEALTH_STATES, RUNTIMES, SITE_EVENT_KINDS, SITE_KINDS } from '../registry.types';

// OpenAPI shapes only: requests are validated by site-document.ts, which reports every bad field at once.

export class SiteCredentialsDto {
  @ApiPropertyOptional({ description: 'Pulsar private_token, or a TES bearer token. Write-only.' })
  token?: string;
  @ApiPropertyOptional({ description: 'User for HTTP Basic (TES) or AMQP; needs password. Write-only.' })
  username?: string;
  @ApiPropertyOptional({ description: 'Write-only.' })
  password?: string;
}

export class SiteTotalsDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, nullable: true })
  cores?: number | null;
  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, nullable: true })
  memory_gib?: number | null;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, nullable: true })
  gpus?: number | null;
  @ApiPropertyOptional({ nullable: true, example: 'A100', description: 'Needs gpus above 0.' })
  gpu_type?: string | null;
  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, nullable: true })
  disk_gib?: number | null;
}

export class SitePerTaskDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, nullable: true })
  cores?: number | null;
  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, nullable: true })
  memory_gib?: number | null;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, nullable: true })
  gpus?: number | null;
  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, nullable: true })
  disk_gib?: number | null;
}

export class SiteCapacityDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    default: 10,
    description: 'Admission limit: broker tasks placed at the site and not finished.',
  })
  max_concurrent_tasks?: number;
  @ApiPropertyOptional({ type: SiteTotalsDto, nullable: true, description: 'Whole-site totals; optional.' })
  totals?: SiteTotalsDto | null;
  @ApiPropertyOptional({
    type: SitePerTaskDto,
    nullable: true,
    description: 'Largest single task; an absent value means bounded by the totals, if any.',
  })
  per_task?: SitePerTaskDto | null;
}

export class SiteDocumentDto {
  @ApiProperty({ example: 'de-freiburg-pulsar', description: 'Unique, immutable; 1-63 of a-z 0-9 -.' })
  slug!: string;
  @ApiProperty({ example: 'usegalaxy.eu Pulsar (Freiburg)' })
  display_name!: string;
  @ApiProperty({ example: 'DE', description: 'ISO 3166-1 alpha-2, upper case.' })
  country!: string;
  @ApiPropertyOptional({ minimum: -90, maximum: 90, nullable: true })
  latitude?: number | null;
  @ApiPropertyOptional({ minimum: -180, maximum: 180, nullable: true })
  longitude?: number | null;
  @ApiProperty({ enum: SITE_KINDS })
  kind!: string;
  @ApiPropertyOptional({
    nullable: true,
    example: 'https://pulsar.example.org/',
    description:
      'http(s) for tes and pulsar-rest; amqp(s) with a vhost for pulsar-amqp, or empty to use AMQP_URL. Never with user:password.',
  })
  url?: string | null;
  @ApiPropertyOptional({
    nullable: true,
    description: 'Pulsar manager: defaults to "constellation" for pulsar-amqp and to none for pulsar-rest.',
  })
  pulsar_manager?: string | null;
  @ApiPropertyOptional({ type: SiteCredentialsDto, nullable: true, description: 'Write-only; null clears.' })
  credentials?: SiteCredentialsDto | null;
  @ApiPropertyOptional({ type: SiteCapacityDto })
  capacity?: SiteCapacityDto;
  @ApiPropertyOptional({ enum: RUNTIMES, isArray: true, default: ['docker'] })
  runtimes?: string[];
  @ApiPropertyOptional({
    default: false,
    description:
      "With runtime 'none': the executors' commands run on the host and their images are not used (the commands " +
      'must exist there). Without it a site whose only runtime is none takes no task.',
  })
  run_images_on_host?: boolean;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'singularity/apptainer: where pulled docker:// images are cached (SINGULARITY_CACHEDIR).',
  })
  image_cache_dir?: string | null;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'singularity/apptainer: a folder of unpacked images named <name>:<tag>, used instead of pulling when ' +
      'present, e.g. /cvmfs/singularity.galaxyproject.org/all.',
  })
  cvmfs_image_root?: string | null;
  @ApiPropertyOptional({ type: [String], format: 'uuid' })
  local_data_store_ids?: string[];
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  tags?: Record<string, string>;
}

export class SiteActionDto {
  @ApiPropertyOptional({ description: 'Why; recorded in the site event.', maxLength: 500 })
  reason?: string;
}

export class SiteProbeDto {
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_probe_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_ok_at!: string | null;
  @ApiProperty()
  consecutive_failures!: number;
  @ApiProperty({ type: Number, nullable: true })
  latency_ms!: number | null;
  @ApiProperty({ type: String, nullable: true })
  version!: string | null;
  @ApiProperty({ type: String, nullable: true })
  last_error!: string | null;
}

export class SiteLoadDto {
  @ApiProperty({ description: "The broker's tasks running at the site." })
  running!: number;
  @ApiProperty({ description: "The broker's tasks placed at the site and not yet running." })
  queued!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'As reported by the site.' })
  reported_running!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'As reported by the site.' })
  reported_queued!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  estimated_wait_seconds!: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  updated_at!: string | null;
}

export class SiteCapacityViewDto {
  @ApiProperty()
  max_concurrent_tasks!: number;
  @ApiProperty({ type: SiteTotalsDto })
  totals!: SiteTotalsDto;
  @ApiProperty({ type: SitePerTaskDto })
  per_task!: SitePerTaskDto;
}

export class SiteViewDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty()
  slug!: string;
  @ApiProperty()
  display_name!: string;
  @ApiProperty()
  country!: string;
  @ApiProperty({ type: Number, nullable: true })
  latitude!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  longitude!: number | null;
  @ApiProperty({ enum: SITE_KINDS })
  kind!: string;
  @ApiProperty({ type: String, nullable: true })
  url!: string | null;
  @ApiProperty({ type: String, nullable: true })
  pulsar_manager!: string | null;
  @ApiProperty({ description: 'Credentials are write-only; this says whether the site has some.' })
  has_credentials!: boolean;
  @ApiProperty({ enum: ADMIN_STATES, description: 'What people decided.' })
  admin_state!: string;
  @ApiProperty({ enum: HEALTH_STATES, description: 'What the probes observed.' })
  health!: string;
  @ApiProperty({ type: SiteCapacityViewDto })
  capacity!: SiteCapacityViewDto;
  @ApiProperty({ enum: RUNTIMES, isArray: true })
  runtimes!: string[];
  @ApiProperty()
  run_images_on_host!: boolean;
  @ApiProperty({ type: String, nullable: true })
  image_cache_dir!: string | null;
  @ApiProperty({ type: String, nullable: true })
  cvmfs_image_root!: string | null;
  @ApiProperty({ type: [String] })
  local_data_store_ids!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  tags!: Record<string, string>;
  @ApiProperty({ format: 'uuid' })
  owner_id!: string;
  @ApiProperty({ type: SiteProbeDto })
  probe!: SiteProbeDto;
  @ApiProperty({ type: SiteLoadDto })
  load!: SiteLoadDto;
  @ApiProperty()
  speed_factor!: number;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ format: 'date-time' })
  updated_at!: string;
}

export class SitePageDto {
  @ApiProperty({ type: [SiteViewDto] })
  sites!: SiteViewDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as page_token for the next page.' })
  next_page_token!: string | null;
}

export class SiteEventDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ enum: SITE_EVENT_KINDS })
  kind!: string;
  @ApiProperty({ type: String, nullable: true })
  from!: string | null;
  @ApiProperty({ type: String, nullable: true })
  to!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'Null when the broker acted.' })
  actor_id!: string | null;
  @ApiProperty()
  reason!: string;
}

export class SiteEventPageDto {
  @ApiProperty({ type: [SiteEventDto] })
  events!: SiteEventDto[];
  @ApiProperty({ type: String, nullable: true })
  next_page_token!: string | null;
}
