// The ceiling for CreateTask: a bare node:http server that reads the body and does one INSERT per request
// into the same database (same table shape, no validation, no auth). Run as a child by run.ts.
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
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
        `INSERT INTO ceiling_task (id, submitter_id, state, document, tags, created_at, updated_at, version)
         VALUES ($1, $2, 'QUEUED', $3::jsonb, '{}'::jsonb, now(), now(), 1)`,
        [randomUUID(), submitter, body],
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
