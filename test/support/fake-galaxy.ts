import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import { startLoopbackServer } from '@constellation/testing';

/** One file Pulsar's staging posted back: what Galaxy's job-files API received. */
export interface GalaxyUpload {
  jobId: string;
  path: string;
  fileType: string;
  content: string;
}

export interface FakeGalaxy {
  url: string;
  /** Every request as `METHOD path?query`. */
  requests(): string[];
  uploads(): GalaxyUpload[];
  close(): Promise<void>;
}

/**
 * Galaxy's job-files API (lib/galaxy/webapps/galaxy/api/job_files.py) on loopback, as Pulsar's staging uses it:
 * `GET /api/jobs/{id}/files?job_key=&path=&file_type=` serves a dataset, `POST` the same with a multipart field
 * `file` stores one. A wrong job_key is a 403, an unknown path a 404.
 */
export async function startFakeGalaxy(options: {
  jobKey: string;
  files: Record<string, string>;
}): Promise<FakeGalaxy> {
  const log: string[] = [];
  const uploads: GalaxyUpload[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://galaxy');
    log.push(`${req.method} ${url.pathname}${url.search}`);
    const m = /^\/api\/jobs\/([^/]+)\/files$/.exec(url.pathname);
    const end = (status: number, body = '') => res.writeHead(status).end(body);
    if (!m) return end(404);
    if (url.searchParams.get('job_key') !== options.jobKey) return end(403, '{"err_msg": "Invalid job_key"}');
    const path = url.searchParams.get('path') ?? '';
    if (req.method === 'GET') {
      const content = options.files[path];
      return content === undefined ? end(404) : end(200, content);
    }
    if (req.method !== 'POST') return end(405);
    const chunks: Buffer[] = [];
    const form = busboy({ headers: req.headers });
    form.on('file', (_name, stream) => stream.on('data', (c: Buffer) => chunks.push(c)));
    form.on('close', () => {
      uploads.push({
        jobId: m[1],
        path,
        fileType: url.searchParams.get('file_type') ?? '',
        content: Buffer.concat(chunks).toString('utf8'),
      });
      end(200, '{"message": "ok"}');
    });
    form.on('error', () => end(400));
    req.pipe(form);
  };
  const server = await startLoopbackServer(handle);
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests: () => [...log],
    uploads: () => [...uploads],
    close: () => server.shut(),
  };
}
