// The ceilings: a bare node:http server doing the database work of a request and nothing else (no
// validation, no auth, no logging, no metrics, no event row). Run as a child by run.ts.
// - POST, for CreateTask: one INSERT per request into the same `task` table the broker writes (same size and
//   indexes, time-ordered ids like the broker's), as another submitter so that its rows stay out of the lists
//   the benchmark reads.
// - GET `/?before=<uuid>`, for ListTasks: one SELECT per request of the broker's single-page MINIMAL
//   statement (prepared; the one it runs for a page it reads alone) for the submitter whose lists the
//   benchmark reads, sent with its next page token. Like the bare INSERT, it does not group: the broker,
//   which reads simultaneous MINIMAL pages in one statement, can pass it.
import * as http from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import { Pool } from 'pg';
import { listTasksResponseJson } from '../../libs/tes/src/list-query';
import { NO_CURSOR, pageOf, viewPageSql } from '../../libs/tes/src/task-views';

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const submitter = process.env.BENCH_SUBMITTER_ID as string;
const listed = process.env.BENCH_LIST_SUBMITTER_ID as string;
const PAGE_SIZE = 256;
const PAGE_SQL = viewPageSql('MINIMAL', 'submitter_id = $1 AND id < $2', PAGE_SIZE + 1);

function fail(res: http.ServerResponse, err: Error): void {
  res.writeHead(500);
  res.end(err.message);
}

function list(req: http.IncomingMessage, res: http.ServerResponse): void {
  const before = new URL(req.url ?? '/', 'http://ceiling').searchParams.get('before') ?? NO_CURSOR;
  pool
    .query<{ tasks: string | null; found: number }>({
      name: 'ceiling-page',
      text: PAGE_SQL,
      values: [listed, before],
    })
    .then(({ rows }) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(listTasksResponseJson(pageOf(rows[0], PAGE_SIZE)));
    })
    .catch((err: Error) => fail(res, err));
}

function create(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    pool
      .query(
        `INSERT INTO task (id, submitter_id, state, document, tags, created_at, updated_at, version)
         VALUES ($1, $2, 'QUEUED', $3::jsonb, '{}'::jsonb, now(), now(), 1)`,
        [uuidv7(), submitter, body],
      )
      .then(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      })
      .catch((err: Error) => fail(res, err));
  });
}

const server = http.createServer((req, res) => (req.method === 'GET' ? list(req, res) : create(req, res)));
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
