// The ceiling for CreateTask: a bare node:http server that reads the body and does one INSERT per request
// into the same `task` table the broker writes (same size and indexes, time-ordered ids like the broker's;
// no validation, no auth, no event row), as another submitter so that its rows stay out of the lists the
// benchmark reads. Run as a child by run.ts.
import * as http from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import { Pool } from 'pg';

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const submitter = process.env.BENCH_SUBMITTER_ID as string;

const server = http.createServer((req, res) => {
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
      .catch((err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      });
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
