import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ROLES } from '../authenticated-principal';

// OpenAPI shapes only: requests are validated by principal-document.ts.

export class NewPrincipalDto {
  @ApiProperty({
    example: 'galaxy-eu',
    description: 'Also the user name of Basic credentials; fixed once created.',
  })
  name!: string;
  @ApiProperty({ enum: ROLES })
  role!: string;
  @ApiPropertyOptional({ type: [String], description: 'Sites this principal may use; empty means all.' })
  allowed_site_ids?: string[];
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: 'Most tasks running at once; null: no limit.',
  })
  max_running_tasks?: number | null;
  @ApiPropertyOptional({ default: 1, description: 'Fair-share weight.' })
  share_weight?: number;
  @ApiPropertyOptional({ default: true, description: 'Issue a first token (shown once in the response).' })
  issue_token?: boolean;
  @ApiPropertyOptional()
  token_description?: string;
}

export class PrincipalUpdateDto {
  @ApiPropertyOptional({ enum: ROLES })
  role?: string;
  @ApiPropertyOptional({ type: [String] })
  allowed_site_ids?: string[];
  @ApiPropertyOptional({ type: Number, nullable: true })
  max_running_tasks?: number | null;
  @ApiPropertyOptional()
  share_weight?: number;
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

export class TokenRequestDto {
  @ApiPropertyOptional({ example: 'Galaxy job runner' })
  description?: string;
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
