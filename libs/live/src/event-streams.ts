import type { ServerResponse } from 'node:http';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { ChangeFeed } from './change-feed';
import type { LiveEvent } from './live-event';
import type { StreamFilter } from './stream-query';

/** Past this much unsent output the client is not keeping up: its stream ends, and it reconnects. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long the client waits before reconnecting, as the SSE `retry` field tells it. */
const RETRY_MS = 3000;

/** May `caller` see this event? The TES rule for tasks (its submitter and admins); sites are for anyone signed in. */
export function visibleTo(caller: AuthenticatedPrincipal, e: LiveEvent): boolean {
  return e.type === 'site' || caller.role === 'admin' || e.submitter_id === caller.id;
}

export function wanted(filter: StreamFilter, e: LiveEvent): boolean {
  if (!filter.types.has(e.type)) return false;
  if (e.type === 'task' && filter.taskId !== undefined) return e.task_id === filter.taskId;
  if (e.type === 'site' && filter.siteId !== undefined) return e.site_id === filter.siteId;
  return true;
}

/** One SSE frame: `data` is JSON on one line, so it needs no splitting. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The server-sent event streams this replica holds open, within its limits: in all and per principal, each
 * with heartbeats and a maximum lifetime, all ended cleanly when the broker stops.
 */
@Injectable()
export class EventStreams implements OnModuleDestroy {
  private readonly open = new Set<() => void>();
  private readonly perPrincipal = new Map<string, number>();

  constructor(
    private readonly feed: ChangeFeed,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Checks the limits, starts listening, then takes the response over; refusals are ordinary error answers. */
  async start(caller: AuthenticatedPrincipal, filter: StreamFilter, reply: FastifyReply): Promise<void> {
    if (this.open.size >= this.config.eventStreams)
      throw new BrokerError(
        ErrorCode.RateLimited,
        'this replica holds as many event streams as it may; retry later',
      );
    const mine = this.perPrincipal.get(caller.id) ?? 0;
    if (mine >= this.config.eventStreamsPerPrincipal)
      throw new BrokerError(
        ErrorCode.RateLimited,
        `${caller.name} already holds ${mine} event streams, the most one principal may; close one first`,
      );
    this.perPrincipal.set(caller.id, mine + 1);
    // Until the response is taken over, events are dropped: the client reads the state after `ready` anyway.
    let send: (chunk: string) => void = () => undefined;
    let end: () => void = () => undefined;
    let unsubscribe: () => void = () => undefined;
    try {
      unsubscribe = await this.feed.subscribe({
        event: (e) => {
          if (visibleTo(caller, e) && wanted(filter, e)) send(frame(e.type, e));
        },
        lost: () => end(),
      });
    } catch {
      this.release(caller.id);
      throw new BrokerError(
        ErrorCode.ServiceUnavailable,
        'live events are unavailable: the database cannot be reached',
      );
    }

    reply.hijack();
    const raw: ServerResponse = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // nginx buffers responses unless told not to, which would hold events back.
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    send = (chunk: string): void => {
      if (raw.writableEnded) return;
      raw.write(chunk);
      if (raw.writableLength > MAX_BUFFERED_BYTES) end();
    };
    const heartbeat = setInterval(() => send(': heartbeat\n\n'), this.config.eventHeartbeatSeconds * 1000);
    const lifetime = setTimeout(() => end(), this.config.eventStreamMaxSeconds * 1000);
    let ended = false;
    end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      unsubscribe();
      this.open.delete(end);
      this.release(caller.id);
      if (!raw.writableEnded) raw.end();
    };
    this.open.add(end);
    raw.on('close', end);
    send(`retry: ${RETRY_MS}\n\n`);
    // Everything before this moment is read by the client's own requests; everything after comes here.
    send(
      frame('ready', {
        types: [...filter.types],
        heartbeat_seconds: this.config.eventHeartbeatSeconds,
        max_seconds: this.config.eventStreamMaxSeconds,
      }),
    );
  }

  onModuleDestroy(): void {
    for (const end of [...this.open]) end();
  }

  private release(principalId: string): void {
    const n = (this.perPrincipal.get(principalId) ?? 1) - 1;
    if (n <= 0) this.perPrincipal.delete(principalId);
    else this.perPrincipal.set(principalId, n);
  }
}
