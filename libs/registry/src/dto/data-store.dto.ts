import { ApiProperty } from '@nestjs/swagger';
import {
  BooleanField,
  Field,
  FieldValidator,
  isCountryCode,
  NumberField,
  StringArrayField,
  StringField,
} from '@constellation/common';

// The request documents, declared once: what the ValidationPipe checks and what the OpenAPI document shows.

// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//;
const NAME_RULES = {
  min: 1,
  max: 200,
  pattern: PRINTABLE,
  patternReason: 'must not contain control characters',
};
const PREFIX_REASON = 'must be an absolute URL prefix such as https://host/path/ or s3://bucket/';

function checkCountry(v: FieldValidator, x: unknown): void {
  const c = v.string(x, '');
  if (c !== undefined && !isCountryCode(c)) {
    v.fail('', 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE');
  }
}

function readPrefix(v: FieldValidator, value: unknown, path: string): string | undefined {
  const s = v.string(value, path, { min: 1, max: 2048 });
  if (s === undefined) return undefined;
  // Prefixes are compared as strings against input URLs, so they must look like the URLs they match.
  if (!SCHEME.test(s)) return v.fail(path, PREFIX_REASON);
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    return v.fail(path, PREFIX_REASON);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return v.fail(path, 'must not contain a user name or password');
  }
  return s;
}

const PREFIX_RULES = { min: 1, max: 64, unique: true };
const PREFIX_EXAMPLE = ['https://usegalaxy.eu/api/jobs/', 's3://galaxy-eu-data/'];

/** PATCH /data-stores/{id}: every field optional; name, prefixes and country cannot be cleared. */
export class DataStoreUpdateDto {
  @StringField(NAME_RULES, { nullReason: 'is required', api: { example: 'usegalaxy.eu' } })
  name?: string;
  @StringArrayField(
    readPrefix,
    PREFIX_RULES,
    { type: String },
    {
      nullReason: 'is required',
      api: { example: PREFIX_EXAMPLE },
    },
  )
  url_prefixes?: string[];
  @Field(checkCountry, { type: String }, { nullReason: 'is required', api: { example: 'DE' } })
  country?: string;
  @NumberField({ min: -90, max: 90 }, { nullable: true })
  latitude?: number | null;
  @NumberField({ min: -180, max: 180 }, { nullable: true })
  longitude?: number | null;
  @BooleanField({
    api: {
      default: false,
      description:
        'Placement may ask this store for the size of an input (HEAD) even when its URL carries a credential in ' +
        'the query (a signature, token or key). Leave false for pre-signed or one-time URLs: the request would ' +
        'send the credential once more, and may spend it or be refused.',
    },
  })
  head_signed_urls?: boolean;
}

/** POST /data-stores: the same document, with name, url_prefixes and country required. */
export class DataStoreDocumentDto extends DataStoreUpdateDto {
  @StringField(NAME_RULES, { required: true, api: { example: 'usegalaxy.eu' } })
  declare name: string;
  @StringArrayField(
    readPrefix,
    PREFIX_RULES,
    { type: String },
    { required: true, api: { example: PREFIX_EXAMPLE } },
  )
  declare url_prefixes: string[];
  @Field(checkCountry, { type: String }, { required: true, api: { example: 'DE' } })
  declare country: string;
}

export class DataStoreViewDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty()
  name!: string;
  @ApiProperty({ type: [String] })
  url_prefixes!: string[];
  @ApiProperty()
  country!: string;
  @ApiProperty({ type: Number, nullable: true })
  latitude!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  longitude!: number | null;
  @ApiProperty()
  head_signed_urls!: boolean;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ format: 'date-time' })
  updated_at!: string;
}

export class DataStorePageDto {
  @ApiProperty({ type: [DataStoreViewDto] })
  data_stores!: DataStoreViewDto[];
  @ApiProperty({ type: String, nullable: true })
  next_page_token!: string | null;
}
