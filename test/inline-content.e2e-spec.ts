import request from 'supertest';
import { DataSource } from 'typeorm';
import { newId } from '@constellation/common';
import { TaskLoadRepository } from '../libs/tes/src/task-load.repository';
import { fullPageSql } from '../libs/tes/src/task-views';
import { FakePulsarSite, startFakePulsarSite } from '@constellation/testing';
import { FakeTesSite, startFakeTesSite } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { onHostPulsarSiteDocument, siteDocument } from './support/site-documents';
import { tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { endLeftoverTasks, registerSiteUp, untilFinished, untilState } from './support/dispatch-suite';

jest.setTimeout(300_000);

/** Every character JSON escapes in its own way, and multi-byte UTF-8: the content must survive them all. */
const PATTERN = 'line "quoted" \\ back\tslash é € 😀 \u0001\r\n';
const PATTERN_BYTES = Buffer.byteLength(PATTERN, 'utf8');
const HEAD_BYTES = 'task 000000\n'.length;
/** About 1 MiB per queued task; every content has the same size in bytes, so quotas can be counted exactly. */
const SIZE = HEAD_BYTES + Math.floor((1024 * 1024) / PATTERN_BYTES) * PATTERN_BYTES;
const QUEUED = 200;
const PAGE_BYTES = 8 * 1024 * 1024;

function content(n: number, bytes = SIZE): string {
  const head = `task ${String(n).padStart(6, '0')}\n`;
  return head + PATTERN.repeat(Math.floor((bytes - HEAD_BYTES) / PATTERN_BYTES));
}

interface FullTask {
  id: string;
  state: string;
  inputs: { path: string; content?: string; url?: string }[];
}

describe('inline input content: stored apart, bounded, returned and delivered intact', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let carol: TestPrincipal; // queues the large tasks
  let bob: TestPrincipal; // small tasks that must still be placed
  let dave: TestPrincipal; // content sent to sites
  let open: { fake: FakeTesSite; slug: string };
  let drained: { fake: FakeTesSite; slug: string };
  let pulsar: FakePulsarSite;
  let pulsarSlug: string;
  /** Carol's tasks: id → the content sent. */
  const queued = new Map<string, string>();

  const pinned = (slug: string, inputs: unknown[]) => ({
    executors: [{ image: 'alpine', command: ['true'] }],
    inputs,
    resources: { backend_parameters: { 'constellation.site': slug } },
  });

  async function tesSite(): Promise<{ fake: FakeTesSite; id: string; slug: string }> {
    const fake = await startFakeTesSite();
    const { id, slug } = await registerSiteUp(
      t,
      admin,
      admin,
      siteDocument({
        kind: 'tes',
        url: fake.url,
        pulsar_manager: null,
        capacity: { max_concurrent_tasks: 50 },
      }),
    );
    return { fake, id, slug };
  }

  beforeAll(async () => {
    t = await startTestApp({
      CONSTELLATION_DISPATCH_SECONDS: '0.05',
      CONSTELLATION_TRACK_SECONDS: '0.05',
      CONSTELLATION_PROBE_SECONDS: '1',
      CONSTELLATION_MAX_INLINE_BYTES_PER_TASK: '3mb',
      // Room for carol's queued tasks and three more.
      CONSTELLATION_MAX_QUEUED_INLINE_BYTES: String((QUEUED + 3) * SIZE + SIZE / 2),
      CONSTELLATION_LIST_PAGE_BYTES: String(PAGE_BYTES),
    });
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    carol = await createPrincipal(t, 'submitter');
    bob = await createPrincipal(t, 'submitter');
    dave = await createPrincipal(t, 'submitter');
    open = await tesSite();
    const d = await tesSite();
    drained = d;
    // Tasks pinned to a draining site are feasible but wait QUEUED: carol's stay queued all along.
    await request(t.url).post(`/api/v1/sites/${d.id}/drain`).set('Authorization', admin.bearer).expect(200);
    pulsar = await startFakePulsarSite({ token: 'pulsar-token' });
    ({ slug: pulsarSlug } = await registerSiteUp(
      t,
      admin,
      admin,
      onHostPulsarSiteDocument({
        kind: 'pulsar-rest',
        url: pulsar.url,
        credentials: { token: 'pulsar-token' },
      }),
    ));

    // Ten at a time, as several clients would.
    for (let n = 0; n < QUEUED; n += 10) {
      const ids = await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const c = content(n + k);
          const res = await tes(t.url, carol)
            .create(pinned(drained.slug, [{ path: '/in/data.txt', content: c }]))
            .expect(200);
          return [res.body.id as string, c] as const;
        }),
      );
      for (const [id, c] of ids) queued.set(id, c);
    }
  });
  afterAll(async () => {
    // This suite leaves more rows and dead row versions than any other: suites after it (in the same
    // database) that check plans see the table as a vacuumed table would look.
    await t?.app.get(DataSource).query('VACUUM (ANALYZE) task');
    await t?.close();
    await Promise.all([open?.fake.close(), drained?.fake.close(), pulsar?.close()]);
  });

  it('stores contents apart from the documents, which placement reads without them', async () => {
    const db = t.app.get(DataSource);
    const [row] = await db.query(
      `SELECT max(octet_length(document::text))::int AS longest, sum(content_bytes)::bigint AS bytes
       FROM task WHERE submitter_id = $1`,
      [carol.id],
    );
    expect(row.longest).toBeLessThan(1000);
    expect(Number(row.bytes)).toBe(QUEUED * SIZE);
    const queuedTasks = await t.app.get(TaskLoadRepository).queuedTasks(db.manager, 500);
    const carols = queuedTasks.filter((q) => q.submitterId === carol.id);
    expect(carols).toHaveLength(QUEUED);
    expect(carols.every((q) => q.hasInlineContent && q.document.inputs[0].content === undefined)).toBe(true);
  });

  it("places another submitter's small tasks while the large ones wait", async () => {
    const ids = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await tes(t.url, bob).create(pinned(open.slug, [])).expect(200);
        return res.body.id as string;
      }),
    );
    for (const id of ids) {
      expect((await untilFinished(tes(t.url, bob), id, `bob's task ${id}`)).state).toBe('COMPLETE');
    }
    const states = await t.app
      .get(DataSource)
      .query(`SELECT DISTINCT state FROM task WHERE submitter_id = $1`, [carol.id]);
    expect(states).toEqual([{ state: 'QUEUED' }]);
  });

  it('returns each content byte for byte in FULL, alone and in a batch of gets, and leaves it out of BASIC', async () => {
    const ids = [...queued.keys()].slice(0, 20);
    const alone = await tes(t.url, carol).get(ids[0], 'FULL').expect(200);
    expect(alone.body.inputs[0].content).toBe(queued.get(ids[0]));
    // Gets in the same turn share a statement: large contents are read one at a time, none lost.
    const together = await Promise.all(ids.map((id) => tes(t.url, carol).get(id, 'FULL').expect(200)));
    together.forEach((res, i) => expect(res.body.inputs[0].content).toBe(queued.get(ids[i])));
    const basic = await tes(t.url, carol).get(ids[0], 'BASIC').expect(200);
    expect(basic.body.inputs).toEqual([{ path: '/in/data.txt', type: 'FILE' }]);
  });

  it('returns small contents in batched FULL gets too', async () => {
    const small = ['tiny "x"\n', 'é'];
    const ids = await Promise.all(
      small.map(async (c) => {
        const res = await tes(t.url, dave)
          .create(
            pinned(drained.slug, [
              { path: '/in/a', url: 'https://example.org/a' },
              { path: '/in/b', content: c },
            ]),
          )
          .expect(200);
        return res.body.id as string;
      }),
    );
    const got = await Promise.all(ids.map((id) => tes(t.url, dave).get(id, 'FULL').expect(200)));
    got.forEach((res, i) =>
      expect(res.body.inputs).toEqual([
        { path: '/in/a', type: 'FILE', url: 'https://example.org/a' },
        { path: '/in/b', type: 'FILE', content: small[i] },
      ]),
    );
    await Promise.all(ids.map((id) => tes(t.url, dave).cancel(id).expect(200)));
  });

  it('stops FULL pages at the byte budget, with a token, and the pages together hold every content', async () => {
    const seen = new Map<string, string>();
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await tes(t.url, carol)
        .list(`view=FULL&page_size=400${token ? `&page_token=${token}` : ''}`)
        .expect(200);
      pages++;
      expect(Buffer.byteLength(res.text, 'utf8')).toBeLessThanOrEqual(PAGE_BYTES + 100);
      const tasks = res.body.tasks as FullTask[];
      expect(tasks.length).toBeGreaterThan(0);
      expect(tasks.length).toBeLessThan(QUEUED);
      for (const task of tasks) seen.set(task.id, task.inputs[0].content as string);
      token = res.body.next_page_token;
    } while (token !== undefined);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil((QUEUED * SIZE) / PAGE_BYTES));
    expect(seen.size).toBe(QUEUED);
    for (const [id, c] of queued) expect(seen.get(id)).toBe(c);
  });

  it('always puts at least one task on a FULL page, however small the budget', async () => {
    const [row] = await t.app.get(DataSource).query(fullPageSql('submitter_id = $1', 5, 1), [carol.id]);
    expect(row).toMatchObject({ found: 1, candidates: 5 });
    // The newest task: ids begin with their creation time.
    const newest = [...queued.keys()].sort().at(-1) as string;
    expect(JSON.parse(row.tasks)).toMatchObject({ id: newest, inputs: [{ content: queued.get(newest) }] });
  });

  it('bounds BASIC pages by count only: they carry no content', async () => {
    const res = await tes(t.url, carol).list('view=BASIC&page_size=300').expect(200);
    expect(res.body.tasks).toHaveLength(QUEUED);
    expect(res.body.tasks.every((task: FullTask) => task.inputs[0].content === undefined)).toBe(true);
  });

  it('answers 413 naming the input that takes a task past the per-task limit, and stores nothing', async () => {
    const before = await tes(t.url, dave).list('page_size=100').expect(200);
    const res = await tes(t.url, dave)
      .create(
        pinned(drained.slug, [
          { path: '/in/a', content: content(1, 2 * 1024 * 1024) },
          { path: '/in/b', content: content(2, 1536 * 1024) },
        ]),
      )
      .expect(413);
    expect(res.body).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      errors: [
        {
          path: 'inputs[1].content',
          reason: expect.stringContaining('CONSTELLATION_MAX_INLINE_BYTES_PER_TASK'),
        },
      ],
      request_id: expect.any(String),
    });
    expect((await tes(t.url, dave).list('page_size=100').expect(200)).body).toEqual(before.body);
  });

  it("answers 429 past the submitter's quota, exactly at its edge under concurrent creates, and frees room as tasks finish", async () => {
    // Room for three more: of ten at once, three are stored and seven refused.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        tes(t.url, carol).create(
          pinned(drained.slug, [{ path: '/in/data.txt', content: content(1000 + k) }]),
        ),
      ),
    );
    const accepted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(7);
    expect(refused[0].body).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      message: expect.stringContaining('CONSTELLATION_MAX_QUEUED_INLINE_BYTES'),
      request_id: expect.any(String),
    });
    expect(refused[0].body.message).toMatch(/when some of them have finished/);
    // Another submitter is not held back by carol's content.
    await tes(t.url, dave)
      .create(pinned(drained.slug, [{ path: '/in/x', content: content(7) }]))
      .expect(200)
      .then((r) => tes(t.url, dave).cancel(r.body.id).expect(200));

    // A finished (here canceled) task's content no longer counts.
    await tes(t.url, carol).cancel(accepted[0].body.id).expect(200);
    await tes(t.url, carol)
      .create(pinned(drained.slug, [{ path: '/in/data.txt', content: content(2000) }]))
      .expect(200);
    await tes(t.url, carol)
      .create(pinned(drained.slug, [{ path: '/in/data.txt', content: content(2001) }]))
      .expect(429);
    for (const r of accepted.slice(1)) await tes(t.url, carol).cancel(r.body.id).expect(200);
  });

  it('judges a broken stored document with its stored-apart contents counted as present', async () => {
    // A row written outside the broker whose outputs are not a list: placement cannot read it. Its input
    // has its content stored apart, and must not be reported as lacking a url.
    const id = newId();
    const db = t.app.get(DataSource);
    const document = { ...pinned(open.slug, [{ path: '/in/a', type: 'FILE' }]), outputs: 'not a list' };
    await db.query(
      `INSERT INTO task (id, submitter_id, state, document, tags, created_at, updated_at, version, content_bytes)
       VALUES ($1, $2, 'QUEUED', $3::jsonb, '{}'::jsonb, now(), now(), 1, 5)`,
      [id, dave.id, JSON.stringify(document)],
    );
    await db.query(`INSERT INTO task_input_content (task_id, input_index, content) VALUES ($1, 0, 'hello')`, [
      id,
    ]);
    const task = await untilFinished(tes(t.url, dave), id, 'the unreadable task to fail');
    expect(task.state).toBe('SYSTEM_ERROR');
    // The one problem named is the outputs: no `inputs[0].url is required`.
    expect(task.logs[0].system_logs[0]).toMatch(
      /^its stored document is not a valid task: outputs must be an array[^;]*$/,
    );
  });

  it('delivers the content unchanged to a TES site', async () => {
    const c = content(3, 2 * 1024 * 1024);
    const { body } = await tes(t.url, dave)
      .create(pinned(open.slug, [{ path: '/in/data.txt', content: c }]))
      .expect(200);
    const task = await untilFinished(tes(t.url, dave), body.id, 'the TES task to finish');
    expect(task.state).toBe('COMPLETE');
    const remote = open.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id);
    expect(remote?.inputs?.[0].content).toBe(c);
  });

  it('delivers the content unchanged to a Pulsar REST site', async () => {
    const c = content(4, 2 * 1024 * 1024);
    pulsar.hold();
    try {
      const { body } = await tes(t.url, dave)
        .create(pinned(pulsarSlug, [{ path: '/in/data.txt', content: c }]))
        .expect(200);
      await untilState(tes(t.url, dave), body.id, 'RUNNING', 'the Pulsar job to run');
      const job = await waitFor('the Pulsar job', async () => pulsar.job(`${body.id}-1`));
      const uploaded = [...job.files.values()].filter((f) => f.equals(Buffer.from(c, 'utf8')));
      expect(uploaded).toHaveLength(1);
      await tes(t.url, dave).cancel(body.id).expect(200);
    } finally {
      pulsar.release();
    }
  });
});
