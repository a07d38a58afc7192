import { ApiProperty, PickType } from '@nestjs/swagger';
import { DataStoreViewDto } from './dto/data-store.dto';
import { SiteViewDto } from './dto/site.dto';
import { AdminState, Health, HEALTH_STATES } from './registry.types';

// The public network summary: what anyone may see of the Network (the console's map without a token).
// Owners, URLs, credentials and probe errors stay behind authentication.

// Where a site or store is and what it is called are the fields of the full views, schema included.
const PLACE = ['id', 'country', 'latitude', 'longitude'] as const;

export class NetworkSiteView extends PickType(SiteViewDto, [...PLACE, 'slug', 'display_name'] as const) {
  @ApiProperty({ enum: ['active', 'draining', 'disabled'] })
  admin_state!: Exclude<AdminState, 'pending'>;
  @ApiProperty({ enum: HEALTH_STATES })
  health!: Health;
  @ApiProperty({ description: 'Admission limit: tasks the broker runs there at once' })
  max_concurrent_tasks!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Total cores, when the provider published them' })
  cores!: number | null;
  @ApiProperty({ description: 'Broker tasks placed there and not finished' })
  running!: number;
  @ApiProperty({ description: 'Broker tasks waiting at the site' })
  queued!: number;
}

export class NetworkDataStoreView extends PickType(DataStoreViewDto, [...PLACE, 'name'] as const) {}

export class NetworkLinkView {
  @ApiProperty({ format: 'uuid' })
  data_store_id!: string;
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty({ description: 'Tasks placed at the site in the window that read an input from the store' })
  tasks!: number;
}

export class NetworkSummaryView {
  @ApiProperty({ format: 'date-time' })
  generated_at!: string;
  @ApiProperty({ description: 'The window of `links`, in hours' })
  links_window_hours!: number;
  @ApiProperty({
    type: [NetworkSiteView],
    description: 'Approved sites (active, draining, disabled) by slug',
  })
  sites!: NetworkSiteView[];
  @ApiProperty({ type: [NetworkDataStoreView] })
  data_stores!: NetworkDataStoreView[];
  @ApiProperty({ type: [NetworkLinkView] })
  links!: NetworkLinkView[];
}
