import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ChangeFeedRepository } from './change-feed.repository';
import type { LiveEvent, SiteLiveEvent } from './live-event';

export interface FeedListener {
  event(e: LiveEvent): void;
  /** The feed cannot read the database: events may be missed, so the listener must start over. */
  lost(): void;
}

/** How often a replica with open streams reads what changed. */
const POLL_MS = 1000;
/**
 * How far back each read looks: a task event becomes visible at its commit, a few milliseconds after the
 * database stamped it; events already sent are remembered for this long and not sent twice.
 */
const LOOKBACK_MS = 5000;

/** The fields a site event announces; a change of any of them is an event. */
const siteKey = (s: SiteLiveEvent) =>
  [s.slug, s.admin_state, s.health, s.running, s.queued, s.max_concurrent_tasks].join('|');

/**
 * What changed in the database, whichever replica, loop or operator changed it: while this replica holds
 * event streams it reads, every second, the task events written since the last read and the sites whose
 * health, admin state or load differ from the last read, and hands them to the streams. Reading, unlike
 * PostgreSQL's NOTIFY, costs the writers nothing.
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger('live');
  private readonly listeners = new Set<FeedListener>();
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private reading = false;
  /** The latest logged_at read so far. */
  private highWater = new Date(0);
  /** Ids of the task events sent within the lookback, with their logged_at. */
  private readonly sent = new Map<string, number>();
  private sites = new Map<string, string>();

  constructor(private readonly repo: ChangeFeedRepository) {}

  /** Resolves once the feed knows the present state, so every later change reaches the listener. */
  async subscribe(listener: FeedListener): Promise<() => void> {
    await this.start();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  onModuleDestroy(): void {
    this.stop();
  }

  private start(): Promise<void> {
    if (this.timer !== undefined) return Promise.resolve();
    this.starting ??= this.baseline()
      .then(() => {
        this.timer ??= setInterval(() => void this.poll(), POLL_MS);
      })
      .finally(() => (this.starting = undefined));
    return this.starting;
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The present, which is not news: events already written and the sites as they are. */
  private async baseline(): Promise<void> {
    const now = await this.repo.now();
    this.sent.clear();
    this.highWater = now;
    for (const e of await this.repo.taskEventsSince(new Date(now.getTime() - LOOKBACK_MS)))
      this.sent.set(e.id, e.loggedAt.getTime());
    this.sites = new Map((await this.repo.sites(now)).map((s) => [s.site_id, siteKey(s)]));
  }

  private async poll(): Promise<void> {
    if (this.reading || this.listeners.size === 0) return;
    this.reading = true;
    try {
      const since = new Date(this.highWater.getTime() - LOOKBACK_MS);
      for (const e of await this.repo.taskEventsSince(since)) {
        if (e.loggedAt > this.highWater) this.highWater = e.loggedAt;
        if (this.sent.has(e.id)) continue;
        this.sent.set(e.id, e.loggedAt.getTime());
        this.emit(e.event);
      }
      const horizon = this.highWater.getTime() - LOOKBACK_MS;
      for (const [id, at] of this.sent) if (at < horizon) this.sent.delete(id);
      for (const s of await this.repo.sites(new Date())) {
        const key = siteKey(s);
        if (this.sites.get(s.site_id) === key) continue;
        this.sites.set(s.site_id, key);
        this.emit(s);
      }
    } catch (err) {
      this.logger.warn(`the change feed cannot read the database: ${(err as Error).message}`);
      this.stop();
      const gone = [...this.listeners];
      this.listeners.clear();
      for (const l of gone) l.lost();
    } finally {
      this.reading = false;
    }
  }

  private emit(e: LiveEvent): void {
    for (const l of [...this.listeners]) l.event(e);
  }
}
