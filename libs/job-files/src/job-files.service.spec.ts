import { existsSync, mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobFilesService } from './job-files.service';
import { JobFilesStore } from './job-files-store';

describe('JobFilesService uploads', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('gives up on an upload the client abandons: the request settles, no file stays open or half-written', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'job-files-'));
    const store = new JobFilesStore({ dataDir, publicUrl: () => 'http://x', secretKey: 'k'.repeat(40) });
    const service = new JobFilesService(store, { maxFileBytes: 1e9 });
    const settled = new Promise<string>((resolve) => {
      server = createServer((req, res) => {
        const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
        service.receive('job-1', query, req).then(
          () => resolve('stored'),
          (err: Error) => resolve(`refused: ${err.message}`),
        );
        res.on('error', () => undefined);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const upload = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/?key=${store.keys.keyFor('job-1')}&path=out/a.txt`,
      headers: { 'content-type': 'multipart/form-data; boundary=XX' },
    });
    upload.on('error', () => undefined);
    upload.write(
      '--XX\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: application/octet-stream\r\n\r\n',
    );
    upload.write(Buffer.alloc(100_000, 97));
    await new Promise((r) => setTimeout(r, 200));
    upload.destroy();

    const outcome = await Promise.race([
      settled,
      new Promise((r) => setTimeout(() => r('still pending'), 3000)),
    ]);
    expect(outcome).toBe('refused: the upload was aborted');
    await new Promise((r) => setTimeout(r, 100));
    const partial = join(dataDir, 'job-files', 'job-1', 'partial');
    expect(existsSync(partial) ? readdirSync(partial) : []).toEqual([]);
    const open = readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((target) => target.startsWith(dataDir));
    expect(open).toEqual([]);
    expect(existsSync(join(dataDir, 'job-files', 'job-1', 'posted', 'out', 'a.txt'))).toBe(false);
  });
});
