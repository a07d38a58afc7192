import request from 'supertest';
import { DataSource } from 'typeorm';
import { tes } from './support/tes-client';
import { waitFor } from './support/wait-for';
import { PulsarRestFixture, startPulsarRestFixture } from './support/pulsar-rest-fixture';
import { untilFinished } from './support/dispatch-suite';

jest.setTimeout(60_000);

// Output delivery as its own step: a Pulsar site serves outputs chunked (no length), the destination is an
// S3-like store that refuses a PUT without Content-Length, and it fails for a while.
describe('output delivery', () => {
  let f: PulsarRestFixture;

  beforeAll(async () => {
    f = await startPulsarRestFixture({
      env: { CONSTELLATION_DELIVERY_TRIES: '4', CONSTELLATION_DELIVERY_RETRY_SECONDS: '0.2' },
      token: 'delivery-token',
      store: { requireLength: true },
    });
  });
  afterAll(() => f?.close());

  function create(name: string) {
    return tes(f.t.url, f.alice)
      .create({
        outputs: [{ path: '/out/r.txt', url: `${f.store.url}/results/${name}.txt`, type: 'FILE' }],
        executors: [{ image: 'alpine', command: ['sh', '-c', `echo ${name} > /out/r.txt`] }],
        resources: { zones: [f.slug] },
      })
      .expect(200);
  }

  /** Submissions of any attempt of the task that reached the site: how many times the job was run. */
  function runs(taskId: string): number {
    return f.pulsar
      .requests()
      .filter(
        (r) => r.method === 'POST' && r.path.startsWith(`/jobs/${taskId}-`) && r.path.endsWith('/submit'),
      ).length;
  }

  it('sends a length to a destination that needs one, and retries a failing destination alone', async () => {
    f.store.failNextPuts(2, 503);
    const { body } = await create('retried');
    const task = await untilFinished(tes(f.t.url, f.alice), body.id);
    expect(task.state).toBe('COMPLETE');
    const path = '/results/retried.txt';
    expect(f.store.puts.filter((p) => p.path === path)).toEqual([
      { path, status: 503, length: '8' },
      { path, status: 503, length: '8' },
      { path, status: 201, length: '8' },
    ]);
    expect(f.store.received.get(path)).toBe('retried\n');
    expect(task.logs).toHaveLength(1);
    expect(task.logs[0].outputs).toEqual([
      { url: `${f.store.url}${path}`, path: '/out/r.txt', size_bytes: '8' },
    ]);
    const failures = task.logs[0].system_logs.filter((l: string) => l.startsWith('delivery try'));
    expect(failures).toEqual([
      `delivery try 1 of 4 failed: the broker could not deliver output /out/r.txt to ${f.store.url}${path}: PUT answered HTTP 503; next try in 1 s`,
      `delivery try 2 of 4 failed: the broker could not deliver output /out/r.txt to ${f.store.url}${path}: PUT answered HTTP 503; next try in 1 s`,
    ]);
    expect(runs(body.id)).toBe(1);
    await waitFor('the cleanup after delivery', async () =>
      f.pulsar.requests().find((r) => r.method === 'DELETE' && r.path === `/jobs/${body.id}-1`),
    );
  });

  it('writes each output once: a try after a failed one starts after the outputs already written', async () => {
    f.store.failNextPuts(1, 503, '/results/resume-b.txt');
    const { body } = await tes(f.t.url, f.alice)
      .create({
        outputs: ['a', 'b', 'c'].map((n) => ({
          path: `/out/${n}.txt`,
          url: `${f.store.url}/results/resume-${n}.txt`,
          type: 'FILE',
        })),
        executors: [
          {
            image: 'alpine',
            command: ['sh', '-c', 'echo a > /out/a.txt; echo b > /out/b.txt; echo c > /out/c.txt'],
          },
        ],
        resources: { zones: [f.slug] },
      })
      .expect(200);
    const task = await untilFinished(tes(f.t.url, f.alice), body.id);
    expect(task.state).toBe('COMPLETE');
    const puts = f.store.puts.filter((p) => p.path.startsWith('/results/resume-'));
    expect(puts.map((p) => `${p.path} ${p.status}`)).toEqual([
      '/results/resume-a.txt 201',
      '/results/resume-b.txt 503',
      '/results/resume-b.txt 201',
      '/results/resume-c.txt 201',
    ]);
    // The output written by the first try is reported as that try wrote it.
    expect(task.logs[0].outputs).toEqual(
      ['a', 'b', 'c'].map((n) => ({
        url: `${f.store.url}/results/resume-${n}.txt`,
        path: `/out/${n}.txt`,
        size_bytes: '2',
      })),
    );
    expect(runs(body.id)).toBe(1);
    // What the delivery recorded goes with it.
    await waitFor('the delivery record to be gone', async () => {
      const rows: unknown[] = await f.t.app
        .get(DataSource)
        .query('SELECT 1 FROM delivered_output WHERE task_id = $1', [body.id]);
      return rows.length === 0 ? true : undefined;
    });
  });

  it('records nothing and writes no further output once its claim was taken over mid-delivery', async () => {
    const held = f.store.holdNextPut('/results/lost-a.txt');
    const { body } = await tes(f.t.url, f.alice)
      .create({
        outputs: ['a', 'b'].map((n) => ({
          path: `/out/${n}.txt`,
          url: `${f.store.url}/results/lost-${n}.txt`,
          type: 'FILE',
        })),
        executors: [{ image: 'alpine', command: ['sh', '-c', 'echo a > /out/a.txt; echo b > /out/b.txt'] }],
        resources: { zones: [f.slug] },
      })
      .expect(200);
    await held.arrived;
    // Another replica took the delivery over while the first output was on its way (this one stalled, say).
    const db = f.t.app.get(DataSource);
    await db.query(
      `UPDATE task SET claimed_by = 'replica-b', lease_until = now() + interval '30 seconds' WHERE id = $1`,
      [body.id],
    );
    held.release();
    await waitFor('the first output written', async () =>
      f.store.puts.some((p) => p.path === '/results/lost-a.txt') ? true : undefined,
    );
    // Time for the replica that lost the claim to go on, were it to.
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.query('SELECT 1 FROM delivered_output WHERE task_id = $1', [body.id])).toEqual([]);
    expect(f.store.puts.filter((p) => p.path === '/results/lost-b.txt')).toEqual([]);
    // The other replica "dies": its claim is free again, and this replica delivers the whole task.
    await db.query(`UPDATE task SET claimed_by = NULL, lease_until = NULL WHERE id = $1`, [body.id]);
    const task = await untilFinished(tes(f.t.url, f.alice), body.id);
    expect(task.state).toBe('COMPLETE');
    expect(f.store.puts.filter((p) => p.path.startsWith('/results/lost-')).map((p) => p.path)).toEqual([
      '/results/lost-a.txt',
      '/results/lost-a.txt',
      '/results/lost-b.txt',
    ]);
    expect(runs(body.id)).toBe(1);
  });

  it('gives up after the last try naming the destination, without running the job again', async () => {
    f.store.failNextPuts(100, 403);
    const { body } = await create('refused');
    const task = await untilFinished(tes(f.t.url, f.alice), body.id);
    f.store.failNextPuts(0, 201);
    expect(task.state).toBe('SYSTEM_ERROR');
    expect(task.logs).toHaveLength(1);
    expect(task.logs[0].system_logs).toContain(
      `the broker could not deliver output /out/r.txt to ${f.store.url}/results/refused.txt: PUT answered HTTP 403; ` +
        'gave up after 4 delivery tries (CONSTELLATION_DELIVERY_TRIES=4)',
    );
    expect(f.store.puts.filter((p) => p.path === '/results/refused.txt')).toHaveLength(4);
    expect(runs(body.id)).toBe(1);
    const events = await request(f.t.url)
      .get(`/api/v1/tasks/${body.id}/events`)
      .set('Authorization', f.alice.bearer)
      .expect(200);
    expect(events.body.events.at(-1)).toMatchObject({
      to: 'SYSTEM_ERROR',
      reason: expect.stringContaining('the broker could not deliver output /out/r.txt'),
    });
    await waitFor('the cleanup after giving up', async () =>
      f.pulsar.requests().find((r) => r.method === 'DELETE' && r.path === `/jobs/${body.id}-1`),
    );
  });

  it('a cancel while the outputs are being delivered ends the task CANCELED and cleans the job', async () => {
    f.store.failNextPuts(100, 503);
    const { body } = await create('cancelled');
    await waitFor('a failed delivery try', async () => {
      const task = (await tes(f.t.url, f.alice).get(body.id, 'FULL')).body;
      const logs: string[] = task.logs?.[0]?.system_logs ?? [];
      return logs.some((l) => l.startsWith('delivery try 1 of 4 failed')) ? true : undefined;
    });
    await tes(f.t.url, f.alice).cancel(body.id).expect(200);
    const task = await untilFinished(tes(f.t.url, f.alice), body.id);
    f.store.failNextPuts(0, 201);
    expect(task.state).toBe('CANCELED');
    expect(runs(body.id)).toBe(1);
    await waitFor('the cleanup after the cancel', async () =>
      f.pulsar.requests().find((r) => r.method === 'DELETE' && r.path === `/jobs/${body.id}-1`),
    );
  });
});
