import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TES_STATES } from './tes.types';

// OpenAPI schema of GET /api/v1/tasks; the service builds plain objects of this shape.

class TaskSearchItemView {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ type: String, nullable: true })
  name!: string | null;
  @ApiProperty({ enum: TES_STATES })
  state!: string;
  @ApiProperty({ format: 'date-time' })
  creation_time!: string;
  @ApiProperty({ format: 'uuid' })
  submitter_id!: string;
  @ApiProperty({ description: "The submitter's principal name" })
  submitter!: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The site of the current or last attempt; null while the task waits to be placed',
  })
  site_id!: string | null;
  @ApiProperty({ type: String, nullable: true, description: "That site's slug" })
  site!: string | null;
}

export class TaskSearchPageView {
  @ApiProperty({ type: [TaskSearchItemView], description: 'Newest first' })
  tasks!: TaskSearchItemView[];
  @ApiPropertyOptional({ description: 'Absent on the last page' })
  next_page_token?: string;
}
