// What other libraries and the application may use.
export { LiveModule } from './live.module';
export { LIVE_CHANNEL, type LiveEvent } from './live-event';
