import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startLoopbackServer } from '@constellation/testing';

const API = '/ga4gh/tes/v1';

/** A copy of one of the broker's tasks that the site holds QUEUED for ever. */
interface HeldTask {
  id: string;
  tags: Record<string, string>;
  creation_time: string;
}

/**
 * A TES 1.1 site on loopback that holds every task it was given QUEUED for ever, for the round-time phase:
 * it answers service-info, `GET /tasks/{id}` (any view), `GET /tasks` with `tag_key`/`tag_value` and
 * paging, and cancels; it creates nothing over the API. `hold` gives it copies directly, so 150,000 of them
 * take no 150,000 requests to set up (the fakes of @constellation/testing run each task they take).
 */
export interface HeldTesSite {
  readonly url: string;
  /** Copies of these broker tasks (attempt 1), held QUEUED; the site's ids, in order. */
  hold(taskIds: readonly string[]): string[];
  /** Status polls answered so far (task reads and list pages). */
  statusCalls(): number;
  /** Status calls as the broker makes them: task reads, and walks of the list (first pages). */
  statusWalks(): number;
  /** Task statuses answered so far: one per task read, one per task on a list page. */
  reported(): number;
  close(): Promise<void>;
}

export async function startHeldTesSite(): Promise<HeldTesSite> {
  const tasks = new Map<string, HeldTask>();
  /** Oldest first; lists read it backwards, newest first as TES lists. */
  const order: HeldTask[] = [];
  let polls = 0;
  let walks = 0;
  let reported = 0;
  const now = new Date().toISOString();
  const view = (t: HeldTask, v: string | null) =>
    v === 'FULL' || v === 'BASIC'
      ? {
          id: t.id,
          state: 'QUEUED',
          executors: [{ image: 'alpine', command: ['sleep', '3600'] }],
          tags: t.tags,
          creation_time: t.creation_time,
          logs: [],
        }
      : { id: t.id, state: 'QUEUED' };

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://held');
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const path = url.pathname.startsWith(API) ? url.pathname.slice(API.length) : '';
    if (req.method === 'GET' && path === '/service-info')
      return send(200, {
        id: 'org.example.held-tes',
        name: 'Held TES (bench:dispatch)',
        type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
        organization: { name: 'bench:dispatch', url: 'https://example.org' },
        version: '1.1.0',
        createdAt: now,
        updatedAt: now,
        storage: [],
      });
    const one = /^\/tasks\/([^/:]+)(:cancel)?$/.exec(path);
    if (one) {
      const task = tasks.get(decodeURIComponent(one[1]));
      if (!task) return send(404, { message: 'task not found' });
      if (one[2]) return send(req.method === 'POST' ? 200 : 405, {});
      polls++;
      walks++;
      reported++;
      return send(200, view(task, url.searchParams.get('view')));
    }
    if (req.method === 'GET' && path === '/tasks') {
      polls++;
      const keys = url.searchParams.getAll('tag_key');
      const values = url.searchParams.getAll('tag_value');
      const size = Math.min(2047, Number(url.searchParams.get('page_size') ?? 256) || 256);
      const offset = Number(url.searchParams.get('page_token') ?? 0) || 0;
      const matching = [...order]
        .reverse()
        .filter((t) =>
          keys.every((k, i) => (values[i] === undefined ? k in t.tags : t.tags[k] === values[i])),
        );
      const page = matching.slice(offset, offset + size);
      if (offset === 0) walks++;
      reported += page.length;
      const next = offset + size < matching.length ? { next_page_token: String(offset + size) } : {};
      return send(200, { tasks: page.map((t) => view(t, url.searchParams.get('view'))), ...next });
    }
    send(404, { message: 'not found' });
  };

  const http = await startLoopbackServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  return {
    get url() {
      return `http://127.0.0.1:${http.port}`;
    },
    hold: (taskIds) =>
      taskIds.map((taskId) => {
        const task = {
          id: randomBytes(10).toString('hex'),
          tags: { 'constellation.task': taskId, 'constellation.attempt': '1' },
          creation_time: new Date().toISOString(),
        };
        tasks.set(task.id, task);
        order.push(task);
        return task.id;
      }),
    statusCalls: () => polls,
    statusWalks: () => walks,
    reported: () => reported,
    close: () => http.shut(),
  };
}
