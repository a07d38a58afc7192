import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** A real HTTP server on loopback standing in for a site; it can go down and come back on the same port. */
export interface FakeSite {
  url: string;
  port: number;
  hits(): number;
  /** Stops accepting connections (connection refused from then on). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Answers every request with this status from now on. */
  respondWith(status: number): void;
}

export async function startFakeSite(): Promise<FakeSite> {
  let status = 200;
  let hits = 0;
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((_req, res) => {
        hits++;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server?.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}/`;
    },
    get port() {
      return port;
    },
    hits: () => hits,
    down: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
    up: listen,
    respondWith: (s: number) => {
      status = s;
    },
  };
}
