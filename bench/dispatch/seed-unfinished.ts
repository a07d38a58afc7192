import { Client } from 'pg';
import { newId } from '@constellation/common';
import type { HeldTesSite } from './held-tes-site';

/**
 * Unfinished tasks in bulk, in the shape the broker writes them, so a round's cost can be measured at a
 * scale that creating and submitting through the API would take too long to reach:
 * - `tracked` tasks submitted to TES sites: each has a copy at its site (with the broker's tags, held QUEUED
 *   by the site for ever; see held-tes-site.ts) and a row in INITIALIZING naming that copy, due for its first
 *   check spread over one tracking interval;
 * - `queued` tasks pinned to a draining site: placement reads them every round and can only leave them waiting.
 */
export interface SeedPlan {
  url: string;
  submitterIds: string[];
  /** The sites that hold the tracked tasks, with their broker ids and slugs. */
  sites: Array<{ id: string; slug: string; fake: HeldTesSite }>;
  drainingSlug: string;
  tracked: number;
  queued: number;
  trackSeconds: number;
}

const TASK = (slug?: string) => ({
  name: 'bench',
  executors: [{ image: 'alpine', command: ['sleep', '3600'] }],
  ...(slug ? { resources: { backend_parameters: { 'constellation.site': slug } } } : {}),
});

export async function seedUnfinished(plan: SeedPlan): Promise<void> {
  const trackedIds = Array.from({ length: plan.tracked }, () => newId());
  // Each site holds its share of the copies: task i is at site i mod the number of sites.
  const remote: string[] = new Array(trackedIds.length);
  plan.sites.forEach((site, k) => {
    const mine = trackedIds.filter((_, i) => i % plan.sites.length === k);
    site.fake.hold(mine).forEach((ref, j) => {
      remote[k + j * plan.sites.length] = ref;
    });
  });
  const client = new Client({ connectionString: plan.url });
  await client.connect();
  try {
    const batch = 10_000;
    for (let from = 0; from < plan.tracked; from += batch) {
      const slice = trackedIds.slice(from, from + batch);
      const site = slice.map((_, k) => plan.sites[(from + k) % plan.sites.length]);
      await client.query(
        `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version,
                           current_attempt, site_id, remote_id, next_check_at, queued_at, logs)
         SELECT t.id, ($4::uuid[])[1 + (t.n % array_length($4::uuid[], 1))], 'bench', 'INITIALIZING', $5::jsonb,
                '{}'::jsonb, now(), now(), 3, 1, t.site_id, t.remote_id,
                now() + make_interval(secs => $6::float8 * random()), now(),
                jsonb_build_array(jsonb_build_object('logs', '[]'::jsonb, 'outputs', '[]'::jsonb,
                  'metadata', jsonb_build_object('site', t.slug, 'site_id', t.site_id::text, 'attempt', '1'),
                  'system_logs', jsonb_build_array('placed on ' || t.slug || ' (seeded by bench:dispatch)')))
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $7::text[]) WITH ORDINALITY AS t(id, site_id, remote_id, slug, n)`,
        [
          slice,
          site.map((s) => s.id),
          remote.slice(from, from + batch),
          plan.submitterIds,
          JSON.stringify(TASK()),
          plan.trackSeconds,
          site.map((s) => s.slug),
        ],
      );
    }
    for (let from = 0; from < plan.queued; from += batch) {
      const ids = Array.from({ length: Math.min(batch, plan.queued - from) }, () => newId());
      await client.query(
        `INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version, queued_at)
         SELECT t.id, ($2::uuid[])[1 + (t.n % array_length($2::uuid[], 1))], 'bench', 'QUEUED', $3::jsonb,
                '{}'::jsonb, now(), now(), 1, now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)`,
        [ids, plan.submitterIds, JSON.stringify(TASK(plan.drainingSlug))],
      );
    }
    await client.query('VACUUM (ANALYZE) task');
  } finally {
    await client.end();
  }
}
