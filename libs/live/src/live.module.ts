import { Module } from '@nestjs/common';
import { ChangeFeed } from './change-feed';
import { ChangeFeedRepository } from './change-feed.repository';
import { EventStreamController } from './event-stream.controller';
import { EventStreams } from './event-streams';

@Module({
  controllers: [EventStreamController],
  providers: [ChangeFeed, ChangeFeedRepository, EventStreams],
  exports: [EventStreams],
})
export class LiveModule {}
