import { AddressInfo, connect as tcpConnect, createServer as createTcpServer, type Socket } from 'node:net';

export interface TcpForwarder {
  url: string;
  /** Forwards new connections to `url`; open ones (clients keep them alive) are closed, so none reaches the old target. */
  pointAt(url: string): void;
  close(): Promise<void>;
}

/**
 * CONSTELLATION_PUBLIC_URL must be known before the app starts, and the test app listens on a port chosen at
 * start: a TCP forwarder on a port of its own is the public URL, pointed at the app once it listens.
 */
export async function startTcpForwarder(): Promise<TcpForwarder> {
  let target = 0;
  const open = new Set<Socket>();
  const server = createTcpServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
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
      for (const socket of open) socket.destroy();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
