import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface DataStoreServer {
  url: string;
  /** Bodies received by PUT, by request path. */
  received: Map<string, string>;
  /** Every PUT, in order, with how it was answered. */
  puts: { path: string; status: number; length: string | undefined }[];
  /** The next `count` PUTs (to `path` only, when given) are answered `status` (a destination failing for a while). */
  failNextPuts(count: number, status: number, path?: string): void;
  /**
   * Holds the answer to the next PUT to `path` (its body received) until `release()`: a slow destination, to
   * change things while a delivery waits on it. `arrived` resolves when that PUT's body is in.
   */
  holdNextPut(path: string): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

export interface DataStoreOptions {
  /** Answer 411 to a PUT without Content-Length, as S3 pre-signed URLs do. */
  requireLength?: boolean;
}

/** A data store on loopback: serves `files` by GET (keyed by request path) and keeps what outputs PUT to it. */
export async function startDataStore(
  files: Record<string, string>,
  options: DataStoreOptions = {},
): Promise<DataStoreServer> {
  const received = new Map<string, string>();
  const puts: DataStoreServer['puts'] = [];
  const failing: { count: number; status: number; path?: string } = { count: 0, status: 503 };
  const holds = new Map<string, { arrived: () => void; released: Promise<void> }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && files[req.url ?? ''] !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(files[req.url ?? '']);
      } else if (req.method === 'PUT') {
        const length = req.headers['content-length'];
        let status = 201;
        if (options.requireLength && length === undefined) status = 411;
        else if (failing.count > 0 && (failing.path === undefined || failing.path === req.url)) {
          failing.count--;
          status = failing.status;
        }
        const hold = holds.get(req.url ?? '');
        holds.delete(req.url ?? '');
        hold?.arrived();
        void (hold?.released ?? Promise.resolve()).then(() => {
          puts.push({ path: req.url ?? '', status, length });
          if (status === 201) received.set(req.url ?? '', Buffer.concat(chunks).toString('utf8'));
          res.writeHead(status).end();
        });
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    puts,
    failNextPuts: (count, status, path) => {
      failing.count = count;
      failing.status = status;
      failing.path = path;
    },
    holdNextPut: (path) => {
      let arrived: () => void = () => undefined;
      let release: () => void = () => undefined;
      const arrival = new Promise<void>((r) => (arrived = r));
      const released = new Promise<void>((r) => (release = r));
      holds.set(path, { arrived, released });
      return { arrived: arrival, release };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
