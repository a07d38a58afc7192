import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesSite, type FakeTesSiteOptions } from '@constellation/testing';
import { DispatchLoop } from '../../libs/dispatch/src/dispatch.loop';
import { registerSiteUp } from './dispatch-suite';
import { TestPrincipal } from './principals';
import { siteDocument } from './site-documents';
import { tes } from './tes-client';
import { TestApp } from './test-app';
import { waitFor } from './wait-for';

/** A TES site registered and up, holding `count` tasks QUEUED, each submitted and left to the site's walk. */
export interface WalkedTesSite {
  site: FakeTesSite;
  siteId: string;
  /** The broker's ids of the tasks, in the order they were created. */
  ids: string[];
  /** Makes the site's walk due, its back-off so far 4 s, no replica walking it. */
  walkDue(): Promise<void>;
}

/** For an app whose rounds the test drives (`CONSTELLATION_DISPATCH_SECONDS=0`), as `admin`. */
export async function startWalkedTesSite(
  t: TestApp,
  admin: TestPrincipal,
  count: number,
  options: FakeTesSiteOptions = {},
): Promise<WalkedTesSite> {
  const db = t.app.get(DataSource);
  // Held QUEUED at the site: every walk after the first finds nothing new.
  const site = await startFakeTesSite({ stepDelayMs: 5, hold: true, ...options });
  const { id: siteId } = await registerSiteUp(
    t,
    admin,
    admin,
    siteDocument({ kind: 'tes', url: site.url, credentials: null, capacity: { max_concurrent_tasks: 100 } }),
  );
  const { slug } = (await db.query('SELECT slug FROM site WHERE id = $1', [siteId]))[0] as { slug: string };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { body } = await tes(t.url, admin)
      .create({ executors: [{ image: 'alpine', command: ['true'] }], resources: { zones: [slug] } })
      .expect(200);
    ids.push(body.id as string);
  }
  const loop = t.app.get(DispatchLoop);
  await waitFor(`all ${count} tasks submitted and left to their site's walk`, async () => {
    await loop.tick();
    const [{ paced }]: { paced: number }[] = await db.query(
      `SELECT count(*)::int AS paced FROM task WHERE id = ANY($1::uuid[]) AND next_check_at >= '9999-01-01'`,
      [ids],
    );
    return paced === count ? true : undefined;
  });
  return {
    site,
    siteId,
    ids,
    // A second back: now() has microseconds and the claims compare with a JavaScript Date (milliseconds), so
    // "due now" could be a fraction of a millisecond late.
    walkDue: async () => {
      await db.query(
        `UPDATE site_tracking SET next_walk_at = now() - interval '1 second', walk_interval_ms = 4000,
                claimed_by = NULL, lease_until = NULL
         WHERE site_id = $1`,
        [siteId],
      );
    },
  };
}
