import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Subscription } from 'rxjs';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { SiteProbeRequests } from '@constellation/registry';
import { ProbeService } from './probe.service';

const INTERVAL_NAME = 'site-probes';

/**
 * How often the loop looks for due sites. Due times live in the database (`site.next_probe_at`), so this
 * is not the probe interval: a short look keeps a site that became due (its interval ran out, a replica
 * restarted, an action on another replica or in the CLI made it due) from waiting a whole interval, and it
 * costs one indexed query when nothing is due.
 */
export function probePollSeconds(config: Pick<AppConfig, 'probeSeconds'>): number {
  return Math.min(config.probeSeconds, 5);
}

/**
 * The timer only finds due work; ProbeService does it. CONSTELLATION_PROBE_SECONDS = 0 turns probes off
 * (tests drive the rounds), including the probes that admin and provider actions ask for.
 */
@Injectable()
export class ProbeLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('probes');
  private running = false;
  private current: Promise<void> = Promise.resolve();
  private lastLoadRefresh = 0;
  private readonly asked = new Set<Promise<void>>();
  private requests: Subscription | null = null;

  constructor(
    private readonly probes: ProbeService,
    private readonly registry: SchedulerRegistry,
    private readonly probeRequests: SiteProbeRequests,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.probeSeconds === 0) return;
    this.requests = this.probeRequests.subscribe((siteId) => this.probeNow(siteId));
    const handle = setInterval(() => void this.tick(), probePollSeconds(this.config) * 1000);
    this.registry.addInterval(INTERVAL_NAME, handle);
    // A starting replica probes whatever fell due while no replica was looking, without waiting a poll.
    void this.tick();
  }

  /** Before the adapters close their connections: stop the timer and let the probes in flight finish. */
  async beforeApplicationShutdown(): Promise<void> {
    this.requests?.unsubscribe();
    if (this.registry.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
    await Promise.all([this.current, ...this.asked]);
  }

  /** One round; skipped while the previous one still runs, so slow sites never pile rounds up. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.current = (async () => {
      try {
        await this.probes.probeDueSites();
        // The load is the broker's own bookkeeping, not a probe: once per probe interval is enough.
        if (Date.now() - this.lastLoadRefresh >= this.config.probeSeconds * 1000) {
          await this.probes.refreshLoad();
          this.lastLoadRefresh = Date.now();
        }
      } catch (err) {
        this.logger.error({ err }, 'probe round failed');
      } finally {
        this.running = false;
      }
    })();
    await this.current;
  }

  /** Probes one site an action made due, beside the loop and without holding up the action's answer. */
  private probeNow(siteId: string): void {
    const done: Promise<void> = this.probes
      .probeSite(siteId)
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err, siteId }, 'probe after a site change failed'))
      .finally(() => this.asked.delete(done));
    this.asked.add(done);
  }
}
