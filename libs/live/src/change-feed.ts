import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { LIVE_CHANNEL, LiveEvent, parseLiveEvent } from './live-event';

export interface FeedListener {
  event(e: LiveEvent): void;
  /** The feed lost its connection: events may have been missed, so the listener must start over. */
  lost(): void;
}

/**
 * This replica's one LISTEN connection to PostgreSQL, shared by all its event streams: the triggers of
 * migration 1765000601000 NOTIFY every change on commit, whichever replica made it. Opened when the first
 * stream asks, outside the pool (a LISTEN holds its connection for good).
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger('live');
  private readonly listeners = new Set<FeedListener>();
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Resolves once LISTEN is in place, so no change committed after that is missed; rejects if it cannot be. */
  async subscribe(listener: FeedListener): Promise<() => void> {
    await this.listening();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private listening(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('the broker is shutting down'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const options = this.db.options as PostgresConnectionOptions;
    const client = new Client({
      connectionString: options.url,
      application_name: options.applicationName,
      connectionTimeoutMillis: 10_000,
      // A LISTEN connection only reads: without keepalives a dead peer would go unnoticed for hours.
      keepAlive: true,
    });
    client.on('notification', (msg) => {
      if (msg.channel !== LIVE_CHANNEL || msg.payload === undefined) return;
      const event = parseLiveEvent(msg.payload);
      if (event === undefined) {
        this.logger.warn(`ignored a ${LIVE_CHANNEL} notification that is not a live event`);
        return;
      }
      for (const l of this.listeners) l.event(event);
    });
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  /** Every stream ends; their clients reconnect, and a new connection is made for them. */
  private drop(client: Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (!this.closed) this.logger.warn(`the change feed lost its connection${err ? `: ${err.message}` : ''}`);
    void client.end().catch(() => undefined);
    const gone = [...this.listeners];
    this.listeners.clear();
    for (const l of gone) l.lost();
  }
}
