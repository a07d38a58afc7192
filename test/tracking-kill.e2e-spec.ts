import { DataSource } from 'typeorm';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { generateToken } from '../libs/auth/src/token-codec';
import { freePort, spawnBroker, waitForOk, type BrokerProcess } from './support/broker-process';
import { endLeftoverTasks, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

jest.setTimeout(300_000);

/** A broker replica in its own process, on the run's database, tracking fast with a short lease. */
async function startReplica(): Promise<{ proc: BrokerProcess; url: string }> {
  const port = await freePort();
  const proc = spawnBroker({
    ...process.env,
    PORT: String(port),
    CONSTELLATION_ADMIN_TOKEN: generateToken(),
    CONSTELLATION_DISPATCH_SECONDS: '0.1',
    CONSTELLATION_TRACK_SECONDS: '0.5',
    CONSTELLATION_PROBE_SECONDS: '1',
    CONSTELLATION_LEASE_SECONDS: '3',
    LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(`${url}/health/ready`, 120_000, proc);
  return { proc, url };
}

describe('kill -9 of a replica while it tracks a task', () => {
  // Serves the API on the same database; its own dispatch is off, so only the replicas follow the task.
  let t: TestApp;
  let admin: TestPrincipal;
  let site: FakeTesSite;
  let slug: string;
  const replicas: BrokerProcess[] = [];

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '1' });
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    site = await startFakeTesSite({ stepDelayMs: 5 });
    ({ slug } = await registerSiteUp(
      t,
      admin,
      admin,
      siteDocument({ kind: 'tes', url: site.url, credentials: null }),
    ));
  });
  afterAll(async () => {
    for (const r of replicas) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGTERM');
        await r.exited;
      }
    }
    await t?.close();
    await site?.close();
  });

  it('loses nothing and runs the job once: the next replica takes the task over when the lease runs out', async () => {
    const first = await startReplica();
    replicas.push(first.proc);
    // About 10 s at the fake's time scale: still running while the replicas change.
    const { body } = await tes(t.url, admin)
      .create({ executors: [{ image: 'alpine', command: ['sleep', '1000'] }], resources: { zones: [slug] } })
      .expect(200);
    const id = body.id as string;
    await untilState(tes(t.url, admin), id, 'RUNNING', 'the first replica to see the task running');
    // Every status call now takes 1.5 s: the replica is caught holding a lease (the walk's), mid-check.
    site.slow(1_500);
    const db = t.app.get(DataSource);
    // A TES site is walked as a whole: the replica holds the site's walk (and the task's row only when the
    // task changed), so either claim catches it mid-check.
    await waitFor('the first replica to be mid-check on the task', async () => {
      const [row]: { held: boolean }[] = await db.query(
        `SELECT EXISTS (SELECT 1 FROM task WHERE id = $1 AND claimed_by IS NOT NULL AND lease_until > now())
             OR EXISTS (SELECT 1 FROM site_tracking st JOIN task t ON t.site_id = st.site_id
                         WHERE t.id = $1 AND st.claimed_by IS NOT NULL AND st.lease_until > now()) AS held`,
        [id],
      );
      return row.held ? true : undefined;
    });
    first.proc.child.kill('SIGKILL');
    expect(await first.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    site.slow(0);
    const second = await startReplica();
    replicas.push(second.proc);
    const task = await untilFinished(tes(t.url, admin), id, 'the second replica to see the task finish');
    expect(task.state).toBe('COMPLETE');
    // One attempt, one copy at the site: the second replica followed the job the first one started.
    expect(task.logs).toHaveLength(1);
    const copies = site.tasks().filter((copy) => copy.tags?.['constellation.task'] === id);
    expect(copies).toHaveLength(1);
    const events: { to_state: string }[] = await db.query(
      'SELECT to_state FROM task_event WHERE task_id = $1 ORDER BY created_at, id',
      [id],
    );
    expect(events.map((e) => e.to_state)).toEqual(['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE']);
  });
});
