import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { allowLongUploads } from './upload-timeouts';

describe('allowLongUploads', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Starts a body that never ends; resolves with how the connection ended within `waitMs`. */
  async function trickle(path: string, waitMs: number): Promise<'closed by the server' | 'still open'> {
    const { port } = server.address() as AddressInfo;
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers: { 'content-length': '1000' },
    });
    const closed = new Promise<'closed by the server'>((resolve) => {
      req.on('error', () => resolve('closed by the server'));
      req.on('close', () => resolve('closed by the server'));
    });
    req.write('x');
    const outcome = await Promise.race([
      closed,
      new Promise<'still open'>((r) => setTimeout(() => r('still open'), waitMs)),
    ]);
    req.destroy();
    return outcome;
  }

  it('bounds how long any request but a job-files upload may take to arrive', async () => {
    server = createServer((req) => req.resume());
    allowLongUploads(server, 200);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    expect(server.requestTimeout).toBe(0);
    expect(await trickle('/ga4gh/tes/v1/tasks', 1500)).toBe('closed by the server');
    expect(await trickle('/api/v1/job-files/job-1?key=k&path=a', 800)).toBe('still open');
  });
});
