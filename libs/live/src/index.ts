// What other libraries and the application may use.
export { LiveModule } from './live.module';
export { type LiveEvent } from './live-event';
