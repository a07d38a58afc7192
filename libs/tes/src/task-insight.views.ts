import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// OpenAPI schemas of the two task insight answers; the controller builds plain objects of these shapes.

class UnmetRequirementView {
  @ApiProperty({ description: 'The requirement the site does not meet, e.g. cores, memory, zones, schemes' })
  requirement!: string;
  @ApiProperty({ example: 'asks 16 cores; at most 8 per task' })
  detail!: string;
}

class TermSourcesView {
  @ApiProperty({ example: 'site throughput 0.05 core(s)/s learned from its completions' })
  queueWaitS!: string;
  @ApiProperty({ example: '2 input(s), 3.3 GiB in all (HEAD: 3.2 GiB; default 64 MiB)' })
  transferS!: string;
  @ApiProperty({
    example: 'learned from 214 runs of bwa_mem2 2.2.1+galaxy1; site speed 1.12 learned from 80 runs',
  })
  runS!: string;
}

class PlacementCandidateView {
  @ApiProperty({ format: 'uuid' })
  siteId!: string;
  @ApiProperty()
  slug!: string;
  @ApiProperty({ description: 'Could the site ever run the task' })
  feasible!: boolean;
  @ApiPropertyOptional({ type: [UnmetRequirementView] })
  unmet?: UnmetRequirementView[];
  @ApiProperty({ description: 'Could the site take the task now' })
  placeable!: boolean;
  @ApiPropertyOptional({ enum: ['draining', 'offline', 'unknown_health', 'full'] })
  blocked?: string;
  @ApiProperty({ description: 'Estimated wait in the site queue, seconds' })
  queueWaitS!: number;
  @ApiProperty({ description: 'Estimated input transfer time, seconds' })
  transferS!: number;
  @ApiProperty({ description: 'Estimated run time at the site, seconds' })
  runS!: number;
  @ApiProperty({ description: 'Estimated completion time: queue + transfer + run, seconds' })
  totalS!: number;
  @ApiProperty({ description: 'Input bytes that would cross the WAN (stores not local to the site)' })
  wanBytes!: number;
  @ApiPropertyOptional({
    type: TermSourcesView,
    description:
      "Where each term's number came from (learned, and from how many runs, or a default); feasible sites only",
  })
  sources?: TermSourcesView;
}

class TakenBackView {
  @ApiProperty({ description: 'The attempt taken back' })
  attempt!: number;
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty({ description: 'The site slug it was taken back from' })
  site!: string;
  @ApiProperty({ description: 'Seconds it had been at that site, still queued there' })
  queued_s!: number;
  @ApiProperty({ description: 'The site that promised an earlier completion' })
  to_site!: string;
  @ApiProperty({ description: 'How much sooner, seconds, as the take-back judged it' })
  sooner_s!: number;
  @ApiProperty({ example: 'taken back from it03 after 13300 s queued; expected 9800 s sooner at cz02' })
  reason!: string;
}

class LocalityPriceView {
  @ApiProperty({ format: 'uuid' })
  site_id!: string;
  @ApiProperty({ description: 'Site slug' })
  site!: string;
  @ApiProperty({ description: 'Input bytes per core-second a task must save at the site to earn its cores' })
  price_bytes_per_core_s!: number;
  @ApiProperty({ description: 'Input bytes per core-second this task would save there' })
  task_bytes_per_core_s!: number;
  @ApiProperty({ description: 'Whether the task earns the site (its saving is at least the price)' })
  earns!: boolean;
}

class PlacementRecordView {
  @ApiProperty({ example: 'ect' })
  policy!: string;
  @ApiProperty({ format: 'date-time' })
  decided_at!: string;
  @ApiProperty()
  attempt!: number;
  @ApiProperty({ enum: ['place', 'wait', 'infeasible'] })
  decision!: string;
  @ApiPropertyOptional({ format: 'uuid' })
  site_id?: string;
  @ApiPropertyOptional({ description: 'The chosen site slug' })
  site?: string;
  @ApiPropertyOptional()
  reason?: string;
  @ApiPropertyOptional({
    description: 'Seconds the task was expected to run at the chosen site (its run term)',
  })
  expected_run_s?: number;
  @ApiProperty({ type: [PlacementCandidateView] })
  candidates!: PlacementCandidateView[];
  @ApiPropertyOptional({
    type: [LocalityPriceView],
    description:
      'With CONSTELLATION_LOCALITY_PRICE: the priced sites the task could use (docs/scheduling.md)',
  })
  locality_prices?: LocalityPriceView[];
  @ApiPropertyOptional({
    type: TakenBackView,
    description:
      'Set on the attempt the broker took back from a site queue (while the task waits to be placed again)',
  })
  taken_back?: TakenBackView;
  @ApiPropertyOptional({
    type: TakenBackView,
    description: 'The previous attempt, when the broker took it back from a site queue',
  })
  previous_attempt?: TakenBackView;
}

export class TaskPlacementView {
  @ApiProperty({ format: 'uuid' })
  task_id!: string;
  @ApiProperty({ description: 'TES state' })
  state!: string;
  @ApiProperty({ description: 'Current attempt (0 before the first placement)' })
  attempt!: number;
  @ApiProperty({ type: [String], description: 'Sites left out after failed attempts' })
  excluded_site_ids!: string[];
  @ApiProperty({ type: PlacementRecordView, nullable: true })
  placement!: PlacementRecordView | null;
  @ApiPropertyOptional({ type: PlacementRecordView, description: 'For a QUEUED task: where it would go now' })
  preview?: PlacementRecordView;
}

class TaskEventView {
  @ApiProperty({ format: 'date-time' })
  time!: string;
  @ApiProperty({ nullable: true, type: String, description: 'null for the creation' })
  from!: string | null;
  @ApiProperty()
  to!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  site_id!: string | null;
  @ApiProperty()
  attempt!: number;
  @ApiProperty()
  reason!: string;
  @ApiProperty({
    enum: ['state', 'copy'],
    description: 'state: a change of the task state; copy: a copy left at a site, stopped or found finished',
  })
  kind!: string;
}

export class TaskEventsView {
  @ApiProperty({ format: 'uuid' })
  task_id!: string;
  @ApiProperty({ type: [TaskEventView] })
  events!: TaskEventView[];
}
