import { Client } from 'pg';

/**
 * Fills `task` up to `total` rows in bulk, spread over `submitters`, with Galaxy-sized documents and
 * time-ordered UUIDv7-shaped ids built in SQL (older than anything the broker will create).
 */
export async function seedTasks(url: string, submitterIds: string[], total: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const have = Number((await client.query('SELECT count(*) AS n FROM task')).rows[0].n);
    const batch = 100_000;
    // An hour old at most: older QUEUED tasks would pass CONSTELLATION_MAX_QUEUE_SECONDS, and the broker's
    // dispatch rounds would spend the measured runs failing them.
    const baseMs = Date.now() - 3_600_000;
    for (let from = have; from < total; from += batch) {
      const to = Math.min(total, from + batch) - 1;
      await client.query(
        `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version)
         SELECT (lpad(to_hex($1::bigint + g), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8'
                 || substr(md5(g::text), 4, 15))::uuid,
                ($2::uuid[])[1 + g % array_length($2::uuid[], 1)],
                'Galaxy Job Execution ' || g,
                (ARRAY['QUEUED','RUNNING','COMPLETE','COMPLETE','COMPLETE','EXECUTOR_ERROR'])[1 + g % 6],
                jsonb_build_object(
                  'name', 'Galaxy Job Execution ' || g,
                  'inputs', jsonb_build_array(
                    jsonb_build_object('path', '/srv/galaxy/jobs/' || g || '/createfiles.sh', 'type', 'FILE', 'content', 'mkdir -p /out && touch /out/d.dat'),
                    jsonb_build_object('url', 'https://usegalaxy.eu/api/jobs/' || g || '/files?job_key=k&path=/srv/d/' || g || '.dat', 'path', '/srv/d/' || g || '.dat', 'type', 'FILE')),
                  'outputs', '[]'::jsonb,
                  'executors', jsonb_build_array(
                    jsonb_build_object('image', 'quay.io/biocontainers/fastqc:0.11.9', 'command', jsonb_build_array('/bin/bash', '/srv/galaxy/jobs/' || g || '/tool_script.sh'), 'workdir', '/srv/galaxy/')),
                  'volumes', jsonb_build_array('/srv/galaxy/'),
                  'tags', jsonb_build_object('galaxy_job', g::text)),
                jsonb_build_object('galaxy_job', g::text),
                to_timestamp(($1::bigint + g) / 1000.0), to_timestamp(($1::bigint + g) / 1000.0), 1
         FROM generate_series($3::bigint, $4::bigint) AS g`,
        [baseMs, submitterIds, from, to],
      );
    }
    await client.query('ANALYZE task');
  } finally {
    await client.end();
  }
}
