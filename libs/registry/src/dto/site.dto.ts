import { ApiProperty } from '@nestjs/swagger';
import {
  BooleanField,
  EnumField,
  Field,
  FieldValidator,
  IntegerField,
  isCountryCode,
  isPlainObject,
  isUuid,
  NestedField,
  NumberField,
  OptionalBody,
  StringArrayField,
  StringField,
} from '@constellation/common';
import {
  ADMIN_STATES,
  HEALTH_STATES,
  Runtime,
  RUNTIMES,
  SITE_EVENT_KINDS,
  SITE_KINDS,
  SiteKind,
} from '../registry.types';

// The request documents, declared once: these classes are both what the ValidationPipe checks and what the
// OpenAPI document shows. Rules that need the stored site or several fields at once are in site-document.ts.

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MANAGER = /^[A-Za-z0-9_-]{1,64}$/;
const TAG_KEY = /^[A-Za-z0-9_.:/-]{1,64}$/;
const GPU_TYPE = /^[A-Za-z0-9_. -]{1,64}$/;
// Control characters would corrupt logs and the dashboard.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
/** An absolute host path that a bash word and an environment variable can carry as it is. */
// eslint-disable-next-line no-control-regex
const HOST_DIR = /^\/[^\u0000-\u001f\u007f:,]{0,1023}$/;
const MAX_TAGS = 64;
const MAX_LOCAL_STORES = 64;

const PRINTABLE_TEXT = { pattern: PRINTABLE, patternReason: 'must not contain control characters' };
const SLUG_RULES = {
  pattern: SLUG,
  patternReason: 'must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit',
};
const DISPLAY_NAME_RULES = { min: 1, max: 200, ...PRINTABLE_TEXT };
const MEMORY = { min: 0, exclusiveMin: true, max: 1e9 };
const DISK = { min: 0, exclusiveMin: true, max: 1e12 };

function checkCountry(v: FieldValidator, x: unknown): void {
  const c = v.string(x, '');
  if (c !== undefined && !isCountryCode(c)) {
    v.fail('', 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE');
  }
}

/** A host folder; '' clears it like null. */
function checkHostDir(v: FieldValidator, x: unknown): void {
  if (x === '') return;
  v.string(x, '', {
    pattern: HOST_DIR,
    patternReason: "must be an absolute path on the site's hosts, without ':' or ','",
  });
}

function checkTags(v: FieldValidator, x: unknown): void {
  if (!isPlainObject(x)) {
    v.fail('', 'must be an object of strings');
    return;
  }
  const entries = Object.entries(x);
  if (entries.length > MAX_TAGS) {
    v.fail('', `must have at most ${MAX_TAGS} tags`);
    return;
  }
  for (const [key, tag] of entries) {
    if (!TAG_KEY.test(key)) v.fail(key, 'must have a key of 1 to 64 letters, digits or . _ : / -');
    else v.string(tag, key, { max: 256, ...PRINTABLE_TEXT });
  }
}

/** Either a token, or username and password. */
function checkCredentials(v: FieldValidator, c: Record<string, unknown>): void {
  if (c.token !== undefined && (c.username !== undefined || c.password !== undefined)) {
    v.fail('', 'must hold either token, or username and password, not both');
  } else if ((c.username === undefined) !== (c.password === undefined)) {
    v.fail(c.username === undefined ? 'username' : 'password', 'is required with username and password');
  } else if (c.token === undefined && c.username === undefined) {
    v.fail('', 'must hold token, or username and password');
  }
}

const SECRET = { min: 1, max: 4096 };

export class SiteCredentialsDto {
  @StringField(SECRET, { api: { description: 'Pulsar private_token, or a TES bearer token. Write-only.' } })
  token?: string;
  @StringField(SECRET, {
    api: { description: 'User for HTTP Basic (TES) or AMQP; needs password. Write-only.' },
  })
  username?: string;
  @StringField(SECRET, { api: { description: 'Write-only.' } })
  password?: string;
}

export class SiteTotalsDto {
  @IntegerField({ min: 1, max: 10_000_000 }, { nullable: true })
  cores?: number | null;
  @NumberField(MEMORY, { nullable: true })
  memory_gib?: number | null;
  @IntegerField({ min: 0, max: 1_000_000 }, { nullable: true })
  gpus?: number | null;
  @StringField(
    {
      pattern: GPU_TYPE,
      patternReason: 'must be 1 to 64 letters, digits, spaces, dots, dashes or underscores',
    },
    { nullable: true, api: { example: 'A100', description: 'Needs gpus above 0.' } },
  )
  gpu_type?: string | null;
  @NumberField(DISK, { nullable: true })
  disk_gib?: number | null;
}

export class SitePerTaskDto {
  @IntegerField({ min: 1, max: 1_000_000 }, { nullable: true })
  cores?: number | null;
  @NumberField(MEMORY, { nullable: true })
  memory_gib?: number | null;
  @IntegerField({ min: 0, max: 1024 }, { nullable: true })
  gpus?: number | null;
  @NumberField(DISK, { nullable: true })
  disk_gib?: number | null;
}

export class SiteCapacityDto {
  @IntegerField(
    { min: 1, max: 1_000_000 },
    {
      nullable: true,
      api: { default: 10, description: 'Admission limit: broker tasks placed at the site and not finished.' },
    },
  )
  max_concurrent_tasks?: number | null;
  @NestedField(() => SiteTotalsDto, { nullable: true, api: { description: 'Whole-site totals; optional.' } })
  totals?: SiteTotalsDto | null;
  @NestedField(() => SitePerTaskDto, {
    nullable: true,
    api: { description: 'Largest single task; an absent value means bounded by the totals, if any.' },
  })
  per_task?: SitePerTaskDto | null;
}

/** PATCH /sites/{ref}: every field optional; absent fields keep their value, null clears the nullable ones. */
export class SiteUpdateDto {
  @StringField(SLUG_RULES, {
    nullable: true,
    api: { example: 'de-freiburg-pulsar', description: 'Unique, immutable; 1-63 of a-z 0-9 -.' },
  })
  slug?: string;
  @StringField(DISPLAY_NAME_RULES, {
    nullReason: 'is required',
    api: { example: 'usegalaxy.eu Pulsar (Freiburg)' },
  })
  display_name?: string;
  @Field(
    checkCountry,
    { type: String },
    {
      nullReason: 'is required',
      api: { example: 'DE', description: 'ISO 3166-1 alpha-2, upper case.' },
    },
  )
  country?: string;
  @NumberField({ min: -90, max: 90 }, { nullable: true })
  latitude?: number | null;
  @NumberField({ min: -180, max: 180 }, { nullable: true })
  longitude?: number | null;
  @EnumField(SITE_KINDS, { nullReason: 'is required' })
  kind?: SiteKind;
  @Field(
    (v, x) => (x === '' ? undefined : v.string(x, '', { max: 2048 })),
    { type: String, maxLength: 2048 },
    {
      nullable: true,
      api: {
        example: 'https://pulsar.example.org/',
        description:
          'http(s) for tes and pulsar-rest; amqp(s) with a vhost for pulsar-amqp, or empty to use AMQP_URL. Never with user:password.',
      },
    },
  )
  url?: string | null;
  @StringField(
    { pattern: MANAGER, patternReason: 'must be 1 to 64 letters, digits, - or _' },
    {
      nullable: true,
      api: {
        description:
          'Pulsar manager: defaults to "constellation" for pulsar-amqp and to none for pulsar-rest.',
      },
    },
  )
  pulsar_manager?: string | null;
  @NestedField(
    () => SiteCredentialsDto,
    { nullable: true, api: { description: 'Write-only; null clears.' } },
    checkCredentials,
  )
  credentials?: SiteCredentialsDto | null;
  @NestedField(() => SiteCapacityDto)
  capacity?: SiteCapacityDto;
  @StringArrayField(
    (v, x, p) => v.oneOf(x, p, RUNTIMES),
    { min: 1, unique: true },
    { enum: [...RUNTIMES] },
    {
      api: { default: ['docker'] },
    },
  )
  runtimes?: Runtime[];
  @BooleanField({
    api: {
      default: false,
      description:
        "With runtime 'none': the executors' commands run on the host and their images are not used (the commands " +
        'must exist there). Without it a site whose only runtime is none takes no task.',
    },
  })
  run_images_on_host?: boolean;
  @Field(
    checkHostDir,
    { type: String },
    {
      nullable: true,
      api: {
        description:
          'singularity/apptainer: where pulled docker:// images are cached (SINGULARITY_CACHEDIR).',
      },
    },
  )
  image_cache_dir?: string | null;
  @Field(
    checkHostDir,
    { type: String },
    {
      nullable: true,
      api: {
        description:
          'singularity/apptainer: a folder of unpacked images named <name>:<tag>, used instead of pulling when ' +
          'present, e.g. /cvmfs/singularity.galaxyproject.org/all.',
      },
    },
  )
  cvmfs_image_root?: string | null;
  // Compared lower-cased, so that one id written in two cases counts as listed twice.
  @StringArrayField(
    (v, x, p) =>
      typeof x === 'string' && isUuid(x) ? x.toLowerCase() : v.fail(p, 'must be a data store id (UUID)'),
    { max: MAX_LOCAL_STORES, unique: true },
    { type: String, format: 'uuid' },
  )
  local_data_store_ids?: string[];
  @Field(checkTags, { type: 'object', additionalProperties: { type: 'string' } })
  tags?: Record<string, string>;
}

/** POST /sites: the same document, with slug, display_name, country and kind required. */
export class SiteDocumentDto extends SiteUpdateDto {
  @StringField(SLUG_RULES, {
    required: true,
    api: { example: 'de-freiburg-pulsar', description: 'Unique, immutable; 1-63 of a-z 0-9 -.' },
  })
  declare slug: string;
  @StringField(DISPLAY_NAME_RULES, { required: true, api: { example: 'usegalaxy.eu Pulsar (Freiburg)' } })
  declare display_name: string;
  @Field(
    checkCountry,
    { type: String },
    {
      required: true,
      api: { example: 'DE', description: 'ISO 3166-1 alpha-2, upper case.' },
    },
  )
  declare country: string;
  @EnumField(SITE_KINDS, { required: true })
  declare kind: SiteKind;
}

/** The optional body of approve/drain/resume/disable. */
@OptionalBody()
export class SiteActionDto {
  @StringField(
    { min: 1, max: 500, ...PRINTABLE_TEXT },
    { api: { description: 'Why; recorded in the site event.' } },
  )
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

export class SelfTestStepDto {
  @ApiProperty({ example: 'reach the site' })
  name!: string;
  @ApiProperty()
  ok!: boolean;
  @ApiProperty()
  duration_ms!: number;
  @ApiProperty({
    description:
      'What the step saw, or what failed in words a provider can act on; "skipped: <step> failed".',
  })
  detail!: string;
}

export class SelfTestResultDto {
  @ApiProperty({ description: 'True when every step passed.' })
  ok!: boolean;
  @ApiProperty({ format: 'date-time' })
  started_at!: string;
  @ApiProperty({ format: 'date-time' })
  finished_at!: string;
  @ApiProperty({ type: [SelfTestStepDto] })
  steps!: SelfTestStepDto[];
}

export class SiteViewDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty()
  slug!: string;
  @ApiProperty()
  display_name!: string;
  @ApiProperty({ description: 'ISO 3166-1 alpha-2' })
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
  @ApiProperty({
    type: SelfTestResultDto,
    nullable: true,
    description: 'The last self-test (POST /api/v1/sites/{ref}/test); null until the first.',
  })
  last_self_test!: SelfTestResultDto | null;
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
