import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { TaskPurgeService } from './task-purge.service';

/** The first purge waits for start-up to settle; later ones come daily. */
const FIRST_RUN_MS = 60_000;
const DAY_MS = 86_400_000;
/** A run that stopped at its bound with rows left goes on soon after, not a day later. */
const CATCH_UP_MS = 5 * 60_000;

/** The purge's timer: once shortly after start, then daily. TaskPurgeService does the work. */
@Injectable()
export class TaskPurgeLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly purge: TaskPurgeService) {}

  onApplicationBootstrap(): void {
    this.schedule(FIRST_RUN_MS);
  }

  /** Stops the timer and lets a purge in flight finish its statement before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick();
    }, ms);
    // A pending purge never keeps the process alive.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let more = false;
    try {
      more = (await this.purge.run(new Date()))?.more ?? false;
    } catch (err) {
      this.logger.error({ err }, 'retention purge failed; the next run starts where it stopped');
    }
    this.schedule(more ? CATCH_UP_MS : DAY_MS);
  }
}
