import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Subject, Subscription } from 'rxjs';

/**
 * Sites an admin or provider action has just made due for a probe (approved, resumed, edited). The registry
 * announces them after its transaction commits; dispatch, the one lib that calls adapters, listens and
 * probes them at once on this replica. The announcement is only a shortcut: the action also cleared the
 * site's `next_probe_at`, so any replica's probe loop finds the site due even if nobody listens here (the CLI).
 */
@Injectable()
export class SiteProbeRequests implements OnModuleDestroy {
  private readonly requests = new Subject<string>();

  request(siteId: string): void {
    this.requests.next(siteId);
  }

  subscribe(listener: (siteId: string) => void): Subscription {
    return this.requests.subscribe(listener);
  }

  onModuleDestroy(): void {
    this.requests.complete();
  }
}
