import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface DataStoreServer {
  url: string;
  /** Bodies received by PUT, by request path. */
  received: Map<string, string>;
  close(): Promise<void>;
}

/** A data store on loopback: serves `files` by GET (keyed by request path) and keeps what outputs PUT to it. */
export async function startDataStore(files: Record<string, string>): Promise<DataStoreServer> {
  const received = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && files[req.url ?? ''] !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(files[req.url ?? '']);
      } else if (req.method === 'PUT') {
        received.set(req.url ?? '', Buffer.concat(chunks).toString('utf8'));
        res.writeHead(201).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
