import { DataSource } from 'typeorm';
import {
  TaskChangeRepository,
  TaskLeaseRepository,
  type DispatchTask,
  type SubmissionItem,
  type SubmissionWrite,
  type TesTaskLog,
} from '@constellation/tes';
import type { FakeTesSite } from '@constellation/testing';
import { PlacementService } from '../libs/dispatch/src/placement.service';
import { callsWithin } from './support/calls-within';
import { createPrincipal, type TestPrincipal } from './support/principals';
import { registerFakeTesSite, startDispatchApp } from './support/dispatch-suite';
import { tes } from './support/tes-client';
import type { TestApp } from './support/test-app';

jest.setTimeout(90_000);

/**
 * Recording sites' answers to submissions (docs/dispatch.md, "One live copy per task"): an answer whose task
 * nobody touched since the claim is written by one guarded statement, without a transaction; a claim taken
 * over writes nothing, and a task changed meanwhile (a cancel, a copy's note) is written from its row as it is
 * now. The rounds are driven by hand, so each claim is the test's.
 */
describe('recording submission answers', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let site: { fake: FakeTesSite; id: string; slug: string };
  let db: DataSource;
  let changes: TaskChangeRepository;

  beforeAll(async () => {
    t = await startDispatchApp({ CONSTELLATION_DISPATCH_SECONDS: '0', CONSTELLATION_TRACK_SECONDS: '30' });
    db = t.app.get(DataSource);
    changes = t.app.get(TaskChangeRepository);
    admin = await createPrincipal(t, 'admin');
    site = await registerFakeTesSite(t, admin, admin);
  });
  afterAll(async () => {
    await t?.close();
    await site?.fake.close();
  });
  afterEach(() => jest.restoreAllMocks());

  /** Tasks created, placed and claimed for submission by `replica`, as the claim read them. */
  async function claimed(count: number, replica: string): Promise<DispatchTask[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { body } = await tes(t.url, admin)
        .create({
          executors: [{ image: 'alpine', command: ['sleep', '600'] }],
          resources: { zones: [site.slug] },
        })
        .expect(200);
      ids.push(body.id as string);
    }
    await t.app.get(PlacementService).placeQueued();
    const rows = await t.app.get(TaskLeaseRepository).claim('submit', replica, new Date(), 30, 100);
    const mine = rows.filter((r) => ids.includes(r.id));
    expect(mine.map((r) => r.id).sort()).toEqual([...ids].sort());
    return mine;
  }

  /** An answer as the submission step makes it: the site's id in the attempt's log, a check at once on a cancel. */
  const answerFor =
    (task: DispatchTask, later: Date) =>
    (fresh: DispatchTask): SubmissionWrite => ({
      remoteId: `remote-${task.id}`,
      logs: fresh.logs.map((l) => ({ ...l, metadata: { ...l.metadata, remote_id: `remote-${task.id}` } })),
      nextCheckAt: fresh.state === 'CANCELING' ? new Date(0) : later,
      trackIntervalMs: 500,
    });

  const items = (tasks: DispatchTask[], later: Date): SubmissionItem<SubmissionWrite>[] =>
    tasks.map((task) => ({ id: task.id, claimed: task, answer: answerFor(task, later) }));

  const rowOf = async (id: string) =>
    (
      (await db.query(
        `SELECT state, remote_id, claimed_by, version, next_check_at, logs FROM task WHERE id = $1`,
        [id],
      )) as {
        state: string;
        remote_id: string | null;
        claimed_by: string | null;
        version: number;
        next_check_at: Date;
        logs: TesTaskLog[];
      }[]
    )[0];

  it('writes answers of untouched tasks in one statement, without a transaction', async () => {
    const tasks = await claimed(3, 'replica-a');
    const later = new Date(Date.now() + 60_000);
    // Its own transactions alone: the probe loop records each probe in one, every second here.
    const { result: done, calls: transactions } = await callsWithin(db, 'transaction', () =>
      changes.recordSubmissions('replica-a', items(tasks, later), new Date()),
    );
    expect(done).toEqual([true, true, true]);
    expect(transactions).toHaveLength(0);
    for (const task of tasks) {
      const row = await rowOf(task.id);
      expect(row).toMatchObject({
        state: 'INITIALIZING',
        remote_id: `remote-${task.id}`,
        claimed_by: null,
        version: task.version + 1,
        next_check_at: later,
      });
      expect(row.logs.at(-1)?.metadata?.remote_id).toBe(`remote-${task.id}`);
    }
  });

  it('writes nothing on a task whose claim another replica took over', async () => {
    const [task, kept] = await claimed(2, 'replica-a');
    await db.query(`UPDATE task SET claimed_by = 'replica-b' WHERE id = $1`, [task.id]);
    const done = await changes.recordSubmissions('replica-a', items([task, kept], new Date()), new Date());
    expect(done).toEqual([false, true]);
    expect(await rowOf(task.id)).toMatchObject({
      remote_id: null,
      claimed_by: 'replica-b',
      version: task.version,
    });
    expect((await rowOf(kept.id)).remote_id).toBe(`remote-${kept.id}`);
  });

  it('works out the answer from the row as it is now when the task changed since the claim', async () => {
    const [cancelled, noted, untouched] = await claimed(3, 'replica-a');
    await tes(t.url, admin).cancel(cancelled.id).expect(200);
    // A note written on the attempt's log meanwhile (as the abandoned-copies step writes one) is kept.
    await changes.recordCopy(
      noted.id,
      { siteId: site.id, attempt: 1, reason: 'a note' },
      new Date(),
      (logs) => logs.map((l) => ({ ...l, system_logs: [...(l.system_logs ?? []), 'a note'] })),
    );
    const later = new Date(Date.now() + 60_000);
    const { result: done, calls: transactions } = await callsWithin(db, 'transaction', () =>
      changes.recordSubmissions('replica-a', items([cancelled, noted, untouched], later), new Date()),
    );
    expect(done).toEqual([true, true, true]);
    // One transaction, for the two changed tasks only.
    expect(transactions).toHaveLength(1);
    expect(await rowOf(cancelled.id)).toMatchObject({
      state: 'CANCELING',
      remote_id: `remote-${cancelled.id}`,
      next_check_at: new Date(0),
      claimed_by: null,
    });
    const notedRow = await rowOf(noted.id);
    expect(notedRow.remote_id).toBe(`remote-${noted.id}`);
    expect(notedRow.logs.at(-1)?.system_logs).toContain('a note');
    expect(notedRow.logs.at(-1)?.metadata?.remote_id).toBe(`remote-${noted.id}`);
    expect(await rowOf(untouched.id)).toMatchObject({
      remote_id: `remote-${untouched.id}`,
      next_check_at: later,
    });
  });

  it('writes a task named twice once, for the first answer', async () => {
    const [task] = await claimed(1, 'replica-a');
    const later = new Date(Date.now() + 60_000);
    const [first, second] = items([task, task], later);
    const done = await changes.recordSubmissions(
      'replica-a',
      [first, { ...second, answer: (fresh) => ({ ...second.answer(fresh), remoteId: 'other' }) }],
      new Date(),
    );
    expect(done).toEqual([true, false]);
    expect((await rowOf(task.id)).remote_id).toBe(`remote-${task.id}`);
  });
});
