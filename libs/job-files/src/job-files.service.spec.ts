import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { readAtMost } from '@constellation/common';
import { migratedDataSource } from '../../../test/support/test-database';
import { JobFilesService } from './job-files.service';
import { JobFilesStore, JobRemoved } from './job-files-store';

const SECRET = 'k'.repeat(40);
let db: DataSource;
let counter = 0;

beforeAll(async () => {
  db = await migratedDataSource();
});
afterAll(() => db?.destroy());

/** A job id no other test (or run of this one) uses. */
function jobId(): string {
  return `job-files-spec-${process.pid}-${Date.now()}-${++counter}-1`;
}

function store(chunkBytes?: number): JobFilesStore {
  return new JobFilesStore({ db, publicUrl: () => 'http://x', secretKey: SECRET, chunkBytes });
}

async function text(s: JobFilesStore, job: string, path: string): Promise<string | null> {
  const file = await s.openPosted(job, path);
  if (!file) return null;
  const { bytes } = await readAtMost(file.body, 1e6);
  expect(bytes.length).toBe(file.length);
  return bytes.toString('utf8');
}

async function rowsOf(job: string): Promise<{ files: number; chunks: number }> {
  const [row]: { files: number; chunks: number }[] = await db.query(
    `SELECT (SELECT count(*)::int FROM job_file WHERE job_id = $1) AS files,
            (SELECT count(*)::int FROM job_file_chunk c JOIN job_file f ON f.id = c.file_id
              WHERE f.job_id = $1) AS chunks`,
    [job],
  );
  return row;
}

describe('JobFilesService uploads', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('gives up on an upload the client abandons: the request settles, nothing half-written stays', async () => {
    const job = jobId();
    const s = store(16 * 1024);
    const service = new JobFilesService(s, { maxFileBytes: 1e9 });
    const settled = new Promise<string>((resolve) => {
      server = createServer((req, res) => {
        const query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
        service.receive(job, query, req).then(
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
      path: `/?key=${s.keys.keyFor(job)}&path=out/a.txt`,
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
    // The request settles at once; the store drops what it had written as its stream ends.
    const deadline = Date.now() + 3000;
    while ((await rowsOf(job)).files > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await rowsOf(job)).toEqual({ files: 0, chunks: 0 });
    expect(await s.openPosted(job, 'out/a.txt')).toBeNull();
  });
});
