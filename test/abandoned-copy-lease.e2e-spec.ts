import { DataSource } from 'typeorm';
import { newId } from '@constellation/common';
import { type FakeTesSite } from '@constellation/testing';
import { AbandonedCopiesService } from '../libs/dispatch/src/abandoned-copies.service';
import { OwnDatabase } from './support/own-database';
import { createPrincipal } from './support/principals';
import { TestApp } from './support/test-app';
import { startDispatchApp } from './support/dispatch-suite';
import { startWalkedTesSite } from './support/walked-tes-site';
import { waitFor } from './support/wait-for';

jest.setTimeout(90_000);

/** Each exchange with a site is bounded by half a lease (2 s here); the site takes 1.5 s over each answer. */
const LEASE_SECONDS = 4;
const ANSWER_MS = 1500;

describe('an abandoned copy whose claim is taken over while its site is asked', () => {
  let t: TestApp;
  let site: FakeTesSite;
  let db: DataSource;
  let siteId: string;
  let taskId: string;
  // A database of its own: the visit counts every copy it took, and keeps taking copies that fall due while the
  // slow site is asked; on the run's database those include other suites' leftover copies.
  const own = OwnDatabase.besideRun('abandoned_copy_lease');

  beforeAll(async () => {
    await own.create();
    t = await startDispatchApp({
      DATABASE_URL: own.url,
      CONSTELLATION_DISPATCH_SECONDS: '0',
      CONSTELLATION_TRACK_SECONDS: '30',
      CONSTELLATION_LEASE_SECONDS: String(LEASE_SECONDS),
    });
    db = t.app.get(DataSource);
    let ids: string[];
    ({ site, siteId, ids } = await startWalkedTesSite(t, await createPrincipal(t, 'admin'), 1));
    [taskId] = ids;
  });
  afterAll(async () => {
    await t?.close();
    await site?.close();
    await own.drop();
  });

  it('is neither stopped nor recorded, and stays with its new holder', async () => {
    const [{ current_attempt: attempt }] = (await db.query(`SELECT current_attempt FROM task WHERE id = $1`, [
      taskId,
    ])) as { current_attempt: number }[];
    // A copy of an earlier attempt, still QUEUED at the site: a visit would cancel it and say so on the task.
    const [{ id: remoteId }] = site.tasks();
    const copyId = newId();
    await db.query(
      `INSERT INTO abandoned_copy (id, task_id, site_id, attempt, remote_id, reason, created_at, next_check_at)
       VALUES ($1, $2, $3, $4, $5, 'the test left it', now(), now() - interval '1 second')`,
      [copyId, taskId, siteId, attempt + 1, remoteId],
    );
    const sent = site.requests().length;
    site.slow(ANSWER_MS);
    const visit = t.app.get(AbandonedCopiesService).stopAbandoned('replica-a');
    await waitFor('the visit asking the site about the copy', async () =>
      site
        .requests()
        .slice(sent)
        .some((c) => c.method === 'GET' && c.path.endsWith(`/tasks/${remoteId}`))
        ? true
        : undefined,
    );
    await db.query(
      `UPDATE abandoned_copy SET claimed_by = 'replica-b', lease_until = now() + interval '30 seconds' WHERE id = $1`,
      [copyId],
    );
    expect(await visit).toBe(1);
    site.slow(0);

    expect(
      site
        .requests()
        .slice(sent)
        .filter((c) => c.method === 'POST'),
    ).toEqual([]);
    expect(site.tasks()[0].state).toBe('QUEUED');
    const events: unknown[] = await db.query(
      `SELECT 1 FROM task_event WHERE task_id = $1 AND kind = 'copy'`,
      [taskId],
    );
    expect(events).toEqual([]);
    const [copy] = (await db.query(`SELECT claimed_by, tries FROM abandoned_copy WHERE id = $1`, [
      copyId,
    ])) as {
      claimed_by: string;
      tries: number;
    }[];
    expect(copy).toEqual({ claimed_by: 'replica-b', tries: 0 });
  });
});
