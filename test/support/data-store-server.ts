import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface DataStoreServer {
  url: string;
  /** Bodies received by PUT, by request path. */
  received: Map<string, string>;
  /** Every PUT, in order, with how it was answered. */
  puts: { path: string; status: number; length: string | undefined }[];
  /** The next `count` PUTs are answered `status` (a destination failing for a while). */
  failNextPuts(count: number, status: number): void;
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
  const failing = { count: 0, status: 503 };
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
        else if (failing.count > 0) {
          failing.count--;
          status = failing.status;
        }
        puts.push({ path: req.url ?? '', status, length });
        if (status === 201) received.set(req.url ?? '', Buffer.concat(chunks).toString('utf8'));
        res.writeHead(status).end();
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
    failNextPuts: (count, status) => {
      failing.count = count;
      failing.status = status;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
