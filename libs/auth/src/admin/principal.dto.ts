import { ApiProperty } from '@nestjs/swagger';
import {
  BooleanField,
  EnumField,
  Field,
  FieldValidator,
  IntegerField,
  isUuid,
  NumberField,
  OptionalBody,
  StringArrayField,
  StringField,
} from '@constellation/common';
import { Role, ROLES } from '../authenticated-principal';

// The request documents, declared once: what the ValidationPipe checks and what the OpenAPI document shows.

// The name is the user part of Basic credentials and of Galaxy's https://name:token@host URL: no ':' '@' '/'.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
const DESCRIPTION_RULES = {
  max: 200,
  pattern: PRINTABLE,
  patternReason: 'must not contain control characters',
};

/**
 * Site ids are not checked against the registry (auth sits below it); an unknown id matches no site. They are
 * compared lower-cased, so that one id written in two cases counts as listed twice.
 */
const siteId = (v: FieldValidator, x: unknown, p: string): string | undefined =>
  typeof x === 'string' && isUuid(x) ? x.toLowerCase() : v.fail(p, 'must be a site id (UUID)');

/** PATCH /principals/{ref}: given fields replace; the name is fixed (Galaxy URLs carry it). */
export class PrincipalUpdateDto {
  @Field(
    () => undefined,
    { type: String },
    {
      nullable: true,
      api: { description: 'Fixed once created: accepted only if it is the current name.' },
    },
  )
  name?: string;
  @EnumField(ROLES, { nullReason: 'is required' })
  role?: Role;
  @StringArrayField(
    siteId,
    { max: 1000, unique: true },
    { type: String, format: 'uuid' },
    { api: { description: 'Sites this principal may use; empty means all.' } },
  )
  allowed_site_ids?: string[];
  @IntegerField(
    { min: 1, max: 10_000_000 },
    { nullable: true, api: { description: 'Most tasks running at once; null: no limit.' } },
  )
  max_running_tasks?: number | null;
  @NumberField(
    { min: 0, exclusiveMin: true, max: 1_000_000 },
    { api: { default: 1, description: 'Fair-share weight.' } },
  )
  share_weight?: number;
  @Field(
    (v: FieldValidator, x: unknown) => {
      if (typeof x !== 'string' || !isUuid(x)) v.fail('', 'must be a data store id (UUID)');
    },
    { type: String, format: 'uuid' },
    {
      nullable: true,
      api: {
        description:
          "The data store the submitter's data lives in: inputs placement cannot attribute to a store count as read from there. null: none.",
      },
    },
  )
  home_data_store_id?: string | null;
}

/** POST /principals: name and role required; the rest defaults (all sites, no quota, weight 1). */
export class NewPrincipalDto extends PrincipalUpdateDto {
  @StringField(
    {
      pattern: NAME,
      patternReason: 'must be 1 to 64 letters, digits, . _ or -, starting with a letter or digit',
    },
    {
      required: true,
      api: {
        example: 'galaxy-eu',
        description: 'Also the user name of Basic credentials; fixed once created.',
      },
    },
  )
  declare name: string;
  @EnumField(ROLES, { required: true })
  declare role: Role;
  @BooleanField({ api: { default: true, description: 'Issue a first token (shown once in the response).' } })
  issue_token?: boolean;
  @StringField(DESCRIPTION_RULES, { api: { default: 'issued at creation' } })
  token_description?: string;
}

/** POST .../tokens and /tokens/rotate: `{ "description": "..." }`, optional. */
@OptionalBody()
export class TokenRequestDto {
  @StringField(DESCRIPTION_RULES, { api: { example: 'Galaxy job runner' } })
  description?: string;
}

export class PrincipalViewDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty()
  name!: string;
  @ApiProperty({ enum: ROLES })
  role!: string;
  @ApiProperty({ type: [String] })
  allowed_site_ids!: string[];
  @ApiProperty({ type: Number, nullable: true })
  max_running_tasks!: number | null;
  @ApiProperty()
  share_weight!: number;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  home_data_store_id!: string | null;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ format: 'date-time' })
  updated_at!: string;
}

export class PrincipalPageDto {
  @ApiProperty({ type: [PrincipalViewDto] })
  principals!: PrincipalViewDto[];
  @ApiProperty({ type: String, nullable: true })
  next_page_token!: string | null;
}

export class TokenViewDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ format: 'uuid' })
  principal_id!: string;
  @ApiProperty()
  description!: string;
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  last_used_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revoked_at!: string | null;
}

export class IssuedTokenDto extends TokenViewDto {
  @ApiProperty({ description: 'The token itself: shown only in this response; only its hash is stored.' })
  token!: string;
}

export class TokenListDto {
  @ApiProperty({ type: [TokenViewDto] })
  tokens!: TokenViewDto[];
}

export class CreatedPrincipalDto {
  @ApiProperty({ type: PrincipalViewDto })
  principal!: PrincipalViewDto;
  @ApiProperty({ type: IssuedTokenDto, nullable: true })
  token!: IssuedTokenDto | null;
}
