import { Module } from '@nestjs/common';
import { ChangeFeed } from './change-feed';
import { EventStreamController } from './event-stream.controller';
import { EventStreams } from './event-streams';

@Module({
  controllers: [EventStreamController],
  providers: [ChangeFeed, EventStreams],
  exports: [EventStreams],
})
export class LiveModule {}
