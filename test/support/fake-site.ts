import { startLoopbackServer } from '@constellation/testing';

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
  /** Holds every answer this long from now on, as a slow site does. */
  answerAfter(ms: number): void;
}

export async function startFakeSite(): Promise<FakeSite> {
  let status = 200;
  let hits = 0;
  let delayMs = 0;
  const http = await startLoopbackServer((_req, res) => {
    hits++;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }, delayMs);
  });
  return {
    get url() {
      return `http://127.0.0.1:${http.port}/`;
    },
    get port() {
      return http.port;
    },
    hits: () => hits,
    down: () => http.shut(),
    up: () => http.listen(),
    respondWith: (s: number) => {
      status = s;
    },
    answerAfter: (ms: number) => {
      delayMs = ms;
    },
  };
}
