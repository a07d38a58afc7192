import { Client } from 'pg';
import { newId } from '@constellation/common';
import { SITE_PACED_AT } from '../../libs/dispatch/src/track-pacing';
import type { HeldTesSite } from './held-tes-site';

/**
 * Unfinished tasks in bulk, in the shape the broker writes them, so a round's cost can be measured at a
 * scale that creating and submitting through the API would take too long to reach:
 * - `tracked` tasks submitted to TES sites: each has a copy at its site (with the broker's tags, held QUEUED
 *   by the site for ever; see held-tes-site.ts) and a row in INITIALIZING naming that copy, as the broker
 *   leaves it after its first walk (the site's QUEUED recorded, left to the site's walk, which falls due
 *   within one tracking interval): a round then costs what it does in steady state. With `firstWalks`, as
 *   the broker leaves it just after submitting it (due for its first check within one tracking interval,
 *   nothing recorded of the site's state): every one is written by its first walk, a burst no site sees live
 *   (134,100 tasks submitted at once), measured apart;
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
  /** Seed the tracked tasks just submitted, each due for its first check, instead of already walked. */
  firstWalks?: boolean;
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
                           current_attempt, site_id, remote_id, next_check_at, queued_at, remote_state,
                           track_interval_ms, logs)
         SELECT t.id, ($4::uuid[])[1 + (t.n % array_length($4::uuid[], 1))], 'bench', 'INITIALIZING', $5::jsonb,
                '{}'::jsonb, now(), now(), 3, 1, t.site_id, t.remote_id,
                CASE WHEN $8 THEN now() + make_interval(secs => $6::float8 * random()) ELSE $9::timestamptz END,
                now(), CASE WHEN $8 THEN NULL ELSE 'QUEUED' END, CASE WHEN $8 THEN NULL ELSE 500 END,
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
          plan.firstWalks === true,
          SITE_PACED_AT,
        ],
      );
    }
    if (!plan.firstWalks)
      // Walks of sites already walked keep their own pace; a site's first walk falls due within an interval.
      await client.query(
        `INSERT INTO site_tracking (site_id, next_walk_at, walk_interval_ms)
         SELECT s, now() + make_interval(secs => $2::float8 * random()), round($2::float8 * 1000)::integer FROM unnest($1::uuid[]) s
         ON CONFLICT (site_id) DO NOTHING`,
        [plan.sites.map((s) => s.id), plan.trackSeconds],
      );
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
