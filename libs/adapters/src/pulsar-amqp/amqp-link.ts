import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { AdapterError } from '../site-adapter';
import { oneLine } from '../http/bounded-text';

/** Pulsar's exchange (pulsar/client/amqp_exchange.py: DEFAULT_EXCHANGE_NAME, type direct, durable). */
export const PULSAR_EXCHANGE = 'pulsar';

export interface AmqpLinkOptions {
  /** Bound on connecting and on each publish confirmation. */
  timeoutMs: number;
  /** First reconnect delay; it doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export type QueueHandler = (message: ConsumeMessage) => void;

/** A URL as it may appear in a message or a log line: the password is never shown. */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid AMQP URL';
  }
}

/** The secrets a message about this URL must not contain. */
export function amqpSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    return parsed.password ? [parsed.password, decodeURIComponent(parsed.password)] : [];
  } catch {
    return [];
  }
}

/**
 * One connection and one confirm channel to one AMQP URL, shared by every site on it. A lost connection is
 * reopened with exponential backoff while someone consumes, and the consumers are started again on the new
 * channel.
 */
export class AmqpLink {
  private model?: ChannelModel;
  private channel?: ConfirmChannel;
  private opening?: Promise<ConfirmChannel>;
  private readonly consumers = new Map<string, QueueHandler>();
  /** Queues declared or consumed on the current channel; both are per channel in AMQP. */
  private declared = new Set<string>();
  private consuming = new Set<string>();
  private failures = 0;
  /** Counts connections: what was heard on an earlier one may have missed updates in between. */
  generation = 0;
  private retryAt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly secrets: string[];

  constructor(
    private readonly url: string,
    private readonly opts: AmqpLinkOptions,
  ) {
    this.secrets = amqpSecrets(url);
  }

  get where(): string {
    return redactAmqpUrl(this.url);
  }

  private failure(err: unknown, what: string): AdapterError {
    if (err instanceof AdapterError) return err;
    const text = oneLine(err instanceof Error ? err.message : String(err), 200, this.secrets);
    // RabbitMQ refuses a login (and an unknown vhost) during the handshake with 403 ACCESS_REFUSED / 530.
    const kind = /ACCESS[-_]REFUSED|\b403\b|NOT_ALLOWED|\b530\b/.test(text) ? 'auth_failed' : 'unreachable';
    return new AdapterError(kind, `${what} at ${this.where}: ${text}`);
  }

  /** The open channel, opening it if needed; rejects at once while a reconnect is backing off. */
  async ready(): Promise<ConfirmChannel> {
    if (this.closed) throw new AdapterError('unreachable', 'the AMQP link is closed');
    if (this.channel) return this.channel;
    if (this.opening) return this.opening;
    if (Date.now() < this.retryAt) {
      throw new AdapterError(
        'unreachable',
        `the message broker at ${this.where} is unreachable; reconnecting in ${Math.ceil((this.retryAt - Date.now()) / 1000)} s`,
      );
    }
    this.opening = this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(): Promise<ConfirmChannel> {
    let model: ChannelModel | undefined;
    try {
      const connecting = connect(this.url, { timeout: this.opts.timeoutMs });
      model = await withTimeout(connecting, this.opts.timeoutMs).catch((err: unknown) => {
        // A connection that completes after we gave up would otherwise stay open, unused, for ever.
        connecting.then((late) => late.close()).catch(() => undefined);
        throw err;
      });
      // Without listeners an 'error' event would crash the process; 'close' follows it and handles it.
      model.on('error', () => undefined);
      const channel = await model.createConfirmChannel();
      channel.on('error', () => undefined);
      await channel.assertExchange(PULSAR_EXCHANGE, 'direct', { durable: true });
      const current = model;
      model.on('close', () => this.lost(current));
      channel.on('close', () => this.lost(current));
      this.model = model;
      this.channel = channel;
      this.generation++;
      this.declared = new Set();
      this.consuming = new Set();
      for (const [queue, handler] of this.consumers) await this.start(channel, queue, handler);
      this.failures = 0;
      this.retryAt = 0;
      return channel;
    } catch (err) {
      await model?.close().catch(() => undefined);
      if (this.model === model) {
        this.model = undefined;
        this.channel = undefined;
      }
      this.backOff();
      throw this.failure(err, 'connecting to the message broker');
    }
  }

  private lost(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.channel = undefined;
    void model.close().catch(() => undefined);
    if (!this.closed) this.backOff();
  }

  private backOff(): void {
    const base = this.opts.backoffMs ?? 500;
    const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, base * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.retryAt = Date.now() + delay;
    // Consumers must come back without anyone calling: status updates are pushed, not asked for.
    if (this.consumers.size > 0 && !this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.ready().catch(() => undefined);
      }, delay);
      this.timer.unref();
    }
  }

  /** Declares a queue exactly as Pulsar's kombu does (durable, bound to the exchange by its own name). */
  private async declare(channel: Channel, queue: string): Promise<void> {
    if (this.declared.has(queue)) return;
    await channel.assertQueue(queue, { durable: true, autoDelete: false, exclusive: false });
    await channel.bindQueue(queue, PULSAR_EXCHANGE, queue);
    this.declared.add(queue);
  }

  /**
   * Each link reads through a queue of its own (server-named, exclusive, gone with the connection), bound with
   * the routing key Pulsar publishes to. Replicas sharing Pulsar's named queue would split the updates between
   * them round-robin, and one would never see the answer to its own status request; bound side by side, each
   * gets a copy. Updates sent while no broker listens are dropped; status requests recover them (reconcile).
   */
  private async start(channel: ConfirmChannel, routingKey: string, handler: QueueHandler): Promise<void> {
    if (this.consuming.has(routingKey)) return;
    this.consuming.add(routingKey);
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, PULSAR_EXCHANGE, routingKey);
    await channel.prefetch(100);
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        try {
          handler(message);
        } finally {
          // A malformed message must not come back for ever.
          channel.ack(message);
        }
      },
      { noAck: false },
    );
  }

  /**
   * Publishes a kombu-style JSON message (content type application/json, persistent) to `queue` through the
   * exchange, declaring the queue first so a message sent while Pulsar is down waits for it (until its
   * `expirationMs`, if given).
   */
  async publish(queue: string, body: unknown, options: { expirationMs?: number } = {}): Promise<void> {
    const channel = await this.ready();
    try {
      await this.declare(channel, queue);
      channel.publish(PULSAR_EXCHANGE, queue, Buffer.from(JSON.stringify(body), 'utf8'), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
        // A message nobody needs once it is old (a status request) must not pile up while Pulsar is down.
        ...(options.expirationMs !== undefined
          ? { expiration: String(Math.round(options.expirationMs)) }
          : {}),
      });
      await withTimeout(channel.waitForConfirms(), this.opts.timeoutMs);
    } catch (err) {
      throw this.failure(err, `publishing to ${queue}`);
    }
  }

  /** Receives every message published with `routingKey`, from now on and after each reconnect. */
  async consume(routingKey: string, handler: QueueHandler): Promise<void> {
    if (!this.consumers.has(routingKey)) this.consumers.set(routingKey, handler);
    const channel = await this.ready();
    try {
      await this.start(channel, routingKey, handler);
    } catch (err) {
      this.consuming.delete(routingKey);
      throw this.failure(err, `consuming ${routingKey}`);
    }
  }

  /**
   * Passive declare on a channel of its own: a missing queue closes the channel it was asked on, which must
   * not be the shared one. Answers null for a queue that does not exist.
   */
  async inspect(queue: string): Promise<{ messageCount: number; consumerCount: number } | null> {
    await this.ready();
    const model = this.model;
    if (!model) throw new AdapterError('unreachable', `the message broker at ${this.where} went away`);
    let channel: Channel | undefined;
    try {
      channel = await model.createChannel();
      channel.on('error', () => undefined);
      const reply = await channel.checkQueue(queue);
      return { messageCount: reply.messageCount, consumerCount: reply.consumerCount };
    } catch (err) {
      if (/NOT_FOUND|404/.test(String((err as Error)?.message))) return null;
      throw this.failure(err, `inspecting ${queue}`);
    } finally {
      await channel?.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    await model?.close().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
