import { AddressInfo, connect as tcpConnect, createServer as createTcpServer } from 'node:net';

export interface TcpForwarder {
  url: string;
  pointAt(url: string): void;
  close(): Promise<void>;
}

/**
 * CONSTELLATION_PUBLIC_URL must be known before the app starts, and the test app listens on a port chosen at
 * start: a TCP forwarder on a port of its own is the public URL, pointed at the app once it listens.
 */
export async function startTcpForwarder(): Promise<TcpForwarder> {
  let target = 0;
  const server = createTcpServer((socket) => {
    const upstream = tcpConnect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pointAt: (url: string) => {
      target = Number(new URL(url).port);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
