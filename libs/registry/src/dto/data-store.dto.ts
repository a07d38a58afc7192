import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DataStoreDocumentDto {
  @ApiProperty({ example: 'usegalaxy.eu' })
  name!: string;
  @ApiProperty({ type: [String], example: ['https://usegalaxy.eu/api/jobs/', 's3://galaxy-eu-data/'] })
  url_prefixes!: string[];
  @ApiProperty({ example: 'DE' })
  country!: string;
  @ApiPropertyOptional({ minimum: -90, maximum: 90, nullable: true })
  latitude?: number | null;
  @ApiPropertyOptional({ minimum: -180, maximum: 180, nullable: true })
  longitude?: number | null;
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
