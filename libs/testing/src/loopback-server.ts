import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on 127.0.0.1 for the fake sites: it can stop (connections refused from then on) and listen
 * again on the same port, as a site that goes down and comes back.
 */
export interface LoopbackServer {
  readonly port: number;
  listen(): Promise<void>;
  shut(): Promise<void>;
}

/** How many free ports below the ephemeral range are tried before falling back to one the kernel picks. */
const PORT_TRIES = 50;
const LOWEST_PORT = 20_000;

/**
 * The first port of the kernel's ephemeral range. A server that comes back on its port takes one below it: a
 * port from that range can be given, while the server is down, to an outgoing connection (a database pool's
 * client, say) that keeps it for the rest of the run, and the server could then never listen again.
 */
function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > LOWEST_PORT + 1000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

export async function startLoopbackServer(handler: RequestListener): Promise<LoopbackServer> {
  let server: Server | undefined;
  let port = 0;
  const listenOn = (wanted: number) =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve();
      const s = createServer(handler);
      s.once('error', reject);
      s.listen(wanted, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const listen = () => listenOn(port);
  const shut = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
    });
  const top = ephemeralStart();
  for (let i = 0; i < PORT_TRIES && !server; i++) {
    const wanted = LOWEST_PORT + Math.floor(Math.random() * (top - LOWEST_PORT));
    await listenOn(wanted).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
    });
  }
  if (!server) await listenOn(0);
  return {
    get port() {
      return port;
    },
    listen,
    shut,
  };
}
