import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// OpenAPI schemas of GET /api/v1/estimates; the service builds plain objects of these shapes.

class ToolAtSiteEstimateView {
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty({ description: 'Site slug' })
  site!: string;
  @ApiProperty({ description: 'Runs of the tool at this site, old ones decayed (halved every half-life)' })
  runs!: number;
  @ApiProperty({ description: 'Geometric mean run time of those runs, seconds' })
  typical_run_s!: number;
}

class ToolEstimateView {
  @ApiProperty({ description: 'What identifies the tool (docs/scheduling.md, "Task fingerprint")' })
  fingerprint!: string;
  @ApiProperty({ example: 'bwa_mem2 2.2.1+galaxy1' })
  label!: string;
  @ApiProperty({ description: 'Runs learned from, old ones decayed' })
  runs!: number;
  @ApiProperty({ description: 'Geometric mean run time, seconds (the estimate at the typical input size)' })
  typical_run_s!: number;
  @ApiProperty({
    description: 'Growth of the run time with input size (d ln run / d ln size, 0 until enough varied runs)',
  })
  size_exponent!: number;
  @ApiProperty({ format: 'date-time' })
  last_run_at!: string;
  @ApiProperty({ type: [ToolAtSiteEstimateView] })
  sites!: ToolAtSiteEstimateView[];
}

class SiteEstimateView {
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty()
  site!: string;
  @ApiProperty({
    description: 'Run time = reference run time / speed; shrunk towards 1 until runs accumulate',
  })
  speed_factor!: number;
  @ApiProperty({ description: 'Runs the speed rests on, old ones decayed' })
  speed_runs!: number;
  @ApiPropertyOptional({ description: "Cores' worth of work finished per second when the site is full" })
  throughput_per_s?: number;
  @ApiPropertyOptional({ description: 'Median of the last queue times (placed to running), seconds' })
  median_queue_s?: number;
  @ApiPropertyOptional({ description: 'Median of the last run times, seconds' })
  median_run_s?: number;
  @ApiProperty({ format: 'date-time' })
  last_run_at!: string;
}

export class EstimatesView {
  @ApiProperty({ format: 'date-time' })
  computed_at!: string;
  @ApiProperty({ description: 'Half-life of old runs, seconds' })
  half_life_s!: number;
  @ApiProperty({ type: [ToolEstimateView], description: 'Most-run tools first, at most `limit`' })
  tools!: ToolEstimateView[];
  @ApiProperty({ type: [SiteEstimateView] })
  sites!: SiteEstimateView[];
}
