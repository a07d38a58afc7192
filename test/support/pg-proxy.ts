import * as net from 'node:net';

export interface PgProxy {
  /** The database URL through the proxy. */
  url: string;
  /**
   * Arms a one-shot fault: the next time PostgreSQL reports a command whose tag matches `tag` (e.g.
   * `INSERT 0 1`, `COMMIT`) and then becomes idle, which means the work is committed, the proxy drops that
   * connection without passing the answer on, as a network or a failover can. The client sees its
   * connection end and cannot tell whether the work was stored.
   */
  dropAnswerAfterCommit(tag: RegExp): void;
  /** Answers dropped so far. */
  dropped(): number;
  /** While on, every connection is ended at once, open ones included, as when the database is down. */
  refuseAll(on: boolean): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback between the broker and PostgreSQL that reads the server's side of the protocol
 * (type byte, 4-byte length) so that it can lose an answer on demand; everything else passes unchanged.
 */
export async function startPgProxy(databaseUrl: string): Promise<PgProxy> {
  const target = new URL(databaseUrl);
  let armed: RegExp | undefined;
  let dropped = 0;
  const sockets = new Set<net.Socket>();

  let refusing = false;

  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);

    let pending = Buffer.alloc(0);
    /** Server messages held back since the last matching command tag, until the server is idle. */
    let held: Buffer[] | undefined;
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 1 + length) break;
        const message = pending.subarray(0, 1 + length);
        pending = pending.subarray(1 + length);
        const type = String.fromCharCode(message[0]);
        if (armed !== undefined && type === 'C') {
          const tag = message.subarray(5, message.length - 1).toString('utf8');
          if (armed.test(tag)) held = [];
        }
        if (held !== undefined) {
          held.push(message);
          if (type !== 'Z') continue;
          // ReadyForQuery with status I: the command's transaction is over, committed. Inside a transaction
          // (T) or after an error (E) nothing is committed yet: pass the answer on and keep waiting.
          if (String.fromCharCode(message[5]) === 'I') {
            armed = undefined;
            held = undefined;
            dropped++;
            end();
            return;
          }
          for (const m of held) client.write(m);
          held = undefined;
          continue;
        }
        client.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    dropAnswerAfterCommit: (tag) => {
      armed = tag;
    },
    dropped: () => dropped,
    refuseAll: (on) => {
      refusing = on;
      if (on) for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
