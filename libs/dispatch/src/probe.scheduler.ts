import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { ProbeService } from './probe.service';

const INTERVAL_NAME = 'site-probes';

/**
 * The timer only finds due work; ProbeService does it. The interval comes from CONSTELLATION_PROBE_SECONDS
 * at start-up (hence SchedulerRegistry rather than a static @Interval), and 0 turns it off.
 */
@Injectable()
export class ProbeScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('probes');
  private running = false;
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly probes: ProbeService,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.probeSeconds === 0) return;
    const handle = setInterval(() => void this.tick(), this.config.probeSeconds * 1000);
    this.registry.addInterval(INTERVAL_NAME, handle);
  }

  /** Before the adapters close their connections: stop the timer and let a round in flight finish. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
    await this.current;
  }

  /** One round; skipped while the previous one still runs, so slow sites never pile rounds up. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.current = (async () => {
      try {
        await this.probes.probeDueSites();
        await this.probes.refreshLoad();
      } catch (err) {
        this.logger.error({ err }, 'probe round failed');
      } finally {
        this.running = false;
      }
    })();
    await this.current;
  }
}
