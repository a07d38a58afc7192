import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { ADMIN_STATES } from '../registry.types';
import { PLAN_ACTIONS } from '../registry-plan';
import { DataStoreDocumentDto } from './data-store.dto';
import { SiteCredentialsDto, SiteDocumentDto } from './site.dto';

// The registry document as the OpenAPI document shows it. The request is checked by readRegistryDocument
// (registry-document.ts), which runs each entry through SiteDocumentDto and DataStoreDocumentDto.

export class CredentialReferenceDto {
  @ApiPropertyOptional({ example: 'PULSAR_IT_TOKEN', description: 'Environment variable holding the token' })
  token_env?: string;
  @ApiPropertyOptional({ description: 'Environment variable holding the user name; needs password_env' })
  username_env?: string;
  @ApiPropertyOptional({ description: 'Environment variable holding the password' })
  password_env?: string;
}

export class RegistrySiteEntryDto extends OmitType(SiteDocumentDto, ['local_data_store_ids', 'credentials']) {
  @ApiPropertyOptional({
    enum: ADMIN_STATES,
    default: 'active',
    description:
      'Entries applied by an admin are approved: active unless the document says otherwise. draining drains, ' +
      'disabled disables; pending only for a site not yet approved (approval cannot be undone).',
  })
  state?: string;
  @ApiPropertyOptional({
    description:
      'Name of the owning principal (provider or admin); absent: the applying admin for a new site.',
  })
  owner?: string;
  @ApiPropertyOptional({
    type: [String],
    description: 'Names of data stores of the document local to the site',
  })
  local_data_stores?: string[];
  @ApiPropertyOptional({
    type: CredentialReferenceDto,
    description:
      'Where the secrets are, never the secrets: a literal token, username or password is refused. Absent keeps ' +
      "the site's credentials.",
  })
  credentials?: CredentialReferenceDto;
}

export class RegistryDocumentDto {
  @ApiProperty({ example: 1 })
  version!: number;
  @ApiProperty({ type: [DataStoreDocumentDto] })
  data_stores!: DataStoreDocumentDto[];
  @ApiProperty({ type: [RegistrySiteEntryDto] })
  sites!: RegistrySiteEntryDto[];
}

export class RegistryApplyRequestDto extends RegistryDocumentDto {
  @ApiPropertyOptional({
    description: 'Read by the CLI: a YAML/JSON file of slug to { token } or { username, password }',
  })
  credentials_file?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/SiteCredentialsDto' },
    description: 'The secrets of the sites, by slug, resolved from the references by the caller. Write-only.',
  })
  site_credentials?: Record<string, SiteCredentialsDto>;
  @ApiPropertyOptional({
    default: true,
    description: 'Plan only; the query parameter wins when both are given',
  })
  dry_run?: boolean;
  @ApiPropertyOptional({ default: false, description: 'Remove what the document does not list' })
  prune?: boolean;
}

/** A field's value in a document: any JSON value. */
const ANY_VALUE = {
  nullable: true,
  oneOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', items: {} },
    { type: 'object' },
  ],
};

export class PlanFieldChangeDto {
  @ApiProperty({ example: 'capacity.max_concurrent_tasks' })
  field!: string;
  @ApiProperty({ ...ANY_VALUE, description: 'Old value (null: unset); secrets only as "(set)" or "(none)"' })
  from!: unknown;
  @ApiProperty({ ...ANY_VALUE, description: 'New value (null: unset); a new secret as "(new value)"' })
  to!: unknown;
}

export class PlannedChangeDto {
  @ApiProperty({ enum: PLAN_ACTIONS })
  action!: string;
  @ApiProperty({ enum: ['site', 'data_store'] })
  type!: string;
  @ApiProperty({ description: 'Slug of a site, name of a data store' })
  name!: string;
  @ApiProperty({ type: [PlanFieldChangeDto] })
  fields!: PlanFieldChangeDto[];
  @ApiProperty({ type: String, nullable: true })
  note!: string | null;
}

export class UnlistedDto {
  @ApiProperty({ type: [String] })
  sites!: string[];
  @ApiProperty({ type: [String] })
  data_stores!: string[];
}

export class PlanSummaryDto {
  @ApiProperty()
  create!: number;
  @ApiProperty()
  update!: number;
  @ApiProperty()
  drain!: number;
  @ApiProperty()
  remove!: number;
}

export class RegistryApplyResultDto {
  @ApiProperty()
  dry_run!: boolean;
  @ApiProperty()
  prune!: boolean;
  @ApiProperty({ description: 'Whether the changes were made (false for a dry run or an empty plan)' })
  applied!: boolean;
  @ApiProperty({ type: PlanSummaryDto })
  summary!: PlanSummaryDto;
  @ApiProperty({ type: [PlannedChangeDto] })
  changes!: PlannedChangeDto[];
  @ApiProperty({
    type: UnlistedDto,
    description: 'In the registry, not in the document, and kept because the apply does not prune',
  })
  unlisted!: UnlistedDto;
}
