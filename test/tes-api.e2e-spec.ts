import request from 'supertest';
import { DataSource } from 'typeorm';
import { PreparedSql } from '@constellation/persistence';
import { minimalPagesSql, NO_CURSOR } from '../libs/tes/src/task-views';
import { TaskRepository } from '../libs/tes/src/task.repository';
import { createPrincipal, TestPrincipal } from './support/principals';
import { ALLOWED, PY_TES_SERVICE_INFO_KEYS } from './support/tes-schema';
import { MINIMAL_TASK, tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

describe('TES 1.1 API', () => {
  let t: TestApp;
  let db: DataSource;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  let admin: TestPrincipal;

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PAGE_SIZE_DEFAULT: '3' });
    db = t.app.get(DataSource);
    alice = await createPrincipal(t, 'submitter');
    bob = await createPrincipal(t, 'submitter');
    admin = await createPrincipal(t, 'admin');
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('service-info', () => {
    it.each(['/ga4gh/tes/v1', '/v1'])(
      'is public under %s with every field of tesServiceInfo',
      async (prefix) => {
        const res = await request(t.url).get(`${prefix}/service-info`).expect(200);
        // Every field py-tes knows except the optional contactUrl, and nothing else.
        expect(Object.keys(res.body).sort()).toEqual(
          PY_TES_SERVICE_INFO_KEYS.filter((k) => k !== 'contactUrl').sort(),
        );
        expect(res.body.type).toEqual({ group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' });
        expect(res.body.organization).toEqual({
          name: 'Constellation',
          url: 'https://github.com/constellation-broker/constellation',
        });
        expect(res.body.id).toBe('local.constellation.tes');
        expect(res.body.createdAt).toMatch(RFC3339);
        expect(res.body.updatedAt).toMatch(RFC3339);
        expect(res.body.tesResources_backend_parameters).toEqual([
          'constellation.site',
          'constellation.gpus',
          'constellation.gpu_type',
          'constellation.rerun_on_site_loss',
        ]);
        // The schemes the approved sites that are up can fetch (none of this suite's; the run's other suites
        // may leave some): bare schemes, and file:// only under the broker's file roots (none here).
        expect(res.body.storage).toEqual(expect.any(Array));
        for (const entry of res.body.storage) expect(entry).toMatch(/^(?!file:)[a-z][a-z0-9+.-]*:\/\/$/);
      },
    );
  });

  describe('CreateTask and GetTask', () => {
    it.each(['/ga4gh/tes/v1', '/v1'])('creates under %s with 200 and exactly {id}', async (prefix) => {
      const res = await tes(t.url, alice, prefix).create(MINIMAL_TASK).expect(200);
      expect(Object.keys(res.body)).toEqual(['id']);
      expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
      const got = await tes(t.url, alice, prefix).get(res.body.id).expect(200);
      expect(got.body).toEqual({ id: res.body.id, state: 'QUEUED' });
    });

    it('ignores read-only fields a client sends (id, state, logs, creation_time)', async () => {
      const res = await tes(t.url, alice)
        .create({
          ...MINIMAL_TASK,
          id: 'my-own-id',
          state: 'COMPLETE',
          logs: [{ logs: [], outputs: [] }],
          creation_time: '2000-01-01T00:00:00Z',
        })
        .expect(200);
      expect(res.body.id).not.toBe('my-own-id');
      const got = await tes(t.url, alice).get(res.body.id, 'FULL').expect(200);
      expect(got.body.state).toBe('QUEUED');
      expect(got.body.logs).toEqual([]);
      expect(got.body.creation_time).not.toBe('2000-01-01T00:00:00Z');
      expect(Date.now() - Date.parse(got.body.creation_time)).toBeLessThan(60_000);
    });

    it('accepts explicit nulls for unset fields, as pydantic-tes (Galaxy via Pulsar) sends them', async () => {
      const body = {
        id: null,
        state: null,
        name: 'pulsar-42',
        description: null,
        inputs: null,
        outputs: null,
        resources: {
          cpu_cores: 2,
          preemptible: null,
          ram_gb: 4.0,
          disk_gb: null,
          zones: null,
          backend_parameters: null,
          backend_parameters_strict: false,
        },
        executors: [
          {
            image: 'galaxy/pulsar-pod-staging:0.15.0.0',
            command: ['pulsar-submit', '--wait'],
            workdir: '/',
            stdin: null,
            stdout: null,
            stderr: null,
            env: null,
          },
        ],
        volumes: ['/pulsar_staging/'],
        tags: null,
        logs: null,
        creation_time: null,
      };
      const { body: created } = await tes(t.url, alice).create(body).expect(200);
      const { body: got } = await tes(t.url, alice).get(created.id, 'FULL').expect(200);
      expect(got).toEqual({
        id: created.id,
        state: 'QUEUED',
        name: 'pulsar-42',
        inputs: [],
        outputs: [],
        resources: { cpu_cores: 2, ram_gb: 4, backend_parameters_strict: false },
        executors: [
          { image: 'galaxy/pulsar-pod-staging:0.15.0.0', command: ['pulsar-submit', '--wait'], workdir: '/' },
        ],
        volumes: ['/pulsar_staging/'],
        tags: {},
        logs: [],
        creation_time: got.creation_time,
      });
    });

    it('returns the document in BASIC and FULL with only spec fields and defaults filled', async () => {
      const doc = {
        name: 'align',
        description: 'bwa mem on sample A',
        inputs: [
          {
            name: 'reads',
            url: 'https://usegalaxy.eu/api/jobs/1/files?path=/a.fq',
            path: '/data/a.fq',
            type: 'FILE',
            streamable: true,
          },
          { path: '/data/script.sh', content: '#!/bin/sh\necho hi\n' },
          { path: '/data/ref', url: 's3://refs/hg38/', type: 'DIRECTORY' },
        ],
        outputs: [
          { url: 's3://b/out.bam', path: '/data/out.bam' },
          { url: 's3://b/bams/', path: '/data/*.bam', path_prefix: '/data', type: 'FILE', name: 'bams' },
        ],
        resources: {
          cpu_cores: 4,
          ram_gb: 15.2,
          disk_gb: 40,
          preemptible: false,
          zones: ['DE', 'uni-freiburg'],
        },
        executors: [
          {
            image: 'quay.io/biocontainers/bwa:0.7.17',
            command: ['bwa', 'mem'],
            workdir: '/data',
            stdout: '/data/out.sam',
            env: { T: '4' },
            ignore_error: true,
          },
        ],
        volumes: ['/vol/A'],
        tags: { workflow: 'wf-1', project: '' },
      };
      const { body: created } = await tes(t.url, alice).create(doc).expect(200);
      const full = (await tes(t.url, alice).get(created.id, 'FULL').expect(200)).body;
      expect(full).toEqual({
        id: created.id,
        state: 'QUEUED',
        ...doc,
        inputs: [
          doc.inputs[0],
          { path: '/data/script.sh', type: 'FILE', content: '#!/bin/sh\necho hi\n' },
          doc.inputs[2],
        ],
        outputs: [{ url: 's3://b/out.bam', path: '/data/out.bam', type: 'FILE' }, doc.outputs[1]],
        logs: [],
        creation_time: full.creation_time,
      });
      expect(full.creation_time).toMatch(RFC3339);
      const basic = (await tes(t.url, alice).get(created.id, 'BASIC').expect(200)).body;
      expect(basic.inputs[1]).toEqual({ path: '/data/script.sh', type: 'FILE' });
      expect({ ...basic, inputs: undefined }).toEqual({ ...full, inputs: undefined });
      expect((await tes(t.url, alice).get(created.id, 'MINIMAL').expect(200)).body).toEqual({
        id: created.id,
        state: 'QUEUED',
      });
    });

    it('ignores url when content is given, as the spec says', async () => {
      const { body } = await tes(t.url, alice)
        .create({ ...MINIMAL_TASK, inputs: [{ path: '/in', content: 'x', url: 'gopher://ignored' }] })
        .expect(200);
      const got = await tes(t.url, alice).get(body.id, 'FULL').expect(200);
      expect(got.body.inputs).toEqual([{ path: '/in', type: 'FILE', content: 'x' }]);
    });

    it('keeps understood backend_parameters (keys lower-cased) and drops unknown ones when not strict', async () => {
      const { body } = await tes(t.url, alice)
        .create({
          ...MINIMAL_TASK,
          resources: {
            backend_parameters: {
              VmSize: 'Standard_D64_v3',
              Caching: 'ReadWrite',
              'Constellation.Site': 'de-freiburg',
              'constellation.gpus': '2',
            },
            backend_parameters_strict: false,
          },
        })
        .expect(200);
      const got = await tes(t.url, alice).get(body.id, 'BASIC').expect(200);
      expect(got.body.resources).toEqual({
        backend_parameters: { 'constellation.site': 'de-freiburg', 'constellation.gpus': '2' },
        backend_parameters_strict: false,
      });
      // "Backends shall log system warnings if a key is passed that is unsupported."
      const events = await db.query('SELECT reason FROM task_event WHERE task_id = $1', [body.id]);
      expect(events).toEqual([
        { reason: 'accepted; ignored unsupported backend_parameters: VmSize, Caching' },
      ]);
    });

    it('shows executor stdout/stderr and system_logs only in FULL', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      const log = {
        logs: [
          {
            start_time: '2026-01-01T00:00:00.000Z',
            end_time: '2026-01-01T00:01:00.000Z',
            stdout: 'hello\n',
            stderr: 'warn\n',
            exit_code: 0,
          },
        ],
        metadata: { site: 'de-freiburg', attempt: '1' },
        start_time: '2026-01-01T00:00:00.000Z',
        end_time: '2026-01-01T00:01:00.000Z',
        outputs: [{ url: 's3://b/o', path: '/o', size_bytes: '1024' }],
        system_logs: ['placed on de-freiburg'],
      };
      await db.query(`UPDATE task SET state = 'COMPLETE', logs = $2::jsonb WHERE id = $1`, [
        body.id,
        JSON.stringify([log]),
      ]);
      expect((await tes(t.url, alice).get(body.id, 'FULL').expect(200)).body.logs).toEqual([log]);
      expect((await tes(t.url, alice).get(body.id, 'BASIC').expect(200)).body.logs).toEqual([
        {
          logs: [
            { start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-01T00:01:00.000Z', exit_code: 0 },
          ],
          metadata: { site: 'de-freiburg', attempt: '1' },
          start_time: '2026-01-01T00:00:00.000Z',
          end_time: '2026-01-01T00:01:00.000Z',
          outputs: [{ url: 's3://b/o', path: '/o', size_bytes: '1024' }],
        },
      ]);
    });

    it('renders each view alike in a get and in a list page, attempts in order, as application/json', async () => {
      const { body } = await tes(t.url, alice)
        .create({ ...MINIMAL_TASK, name: 'views-alike', inputs: [{ path: '/in/a', content: 'x' }] })
        .expect(200);
      const attempt = (n: number) => ({
        logs: [{ stdout: `out ${n}`, stderr: '', exit_code: n }, { exit_code: 0 }],
        metadata: { attempt: String(n) },
        outputs: [],
        system_logs: [`attempt ${n}`],
      });
      await db.query(`UPDATE task SET logs = $2::jsonb WHERE id = $1`, [
        body.id,
        JSON.stringify([attempt(1), attempt(2), attempt(3)]),
      ]);
      for (const view of ['MINIMAL', 'BASIC', 'FULL'] as const) {
        const got = await tes(t.url, alice).get(body.id, view).expect(200);
        expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
        const listed = await tes(t.url, alice).list(`view=${view}&name_prefix=views-alike`).expect(200);
        expect(listed.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(listed.body).toEqual({ tasks: [got.body] });
        if (view === 'MINIMAL') continue;
        expect(got.body.creation_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(got.body.logs.map((l: { metadata: { attempt: string } }) => l.metadata.attempt)).toEqual([
          '1',
          '2',
          '3',
        ]);
      }
      const basic = (await tes(t.url, alice).get(body.id, 'BASIC').expect(200)).body;
      expect(basic.inputs).toEqual([{ path: '/in/a', type: 'FILE' }]);
      expect(basic.logs[1]).toEqual({
        logs: [{ exit_code: 2 }, { exit_code: 0 }],
        metadata: { attempt: '2' },
        outputs: [],
      });
    });

    it("answers 404 with the error body for an unknown id, a malformed id and another submitter's task", async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      for (const [who, id] of [
        [alice, '01a21700-0000-7000-8000-000000000000'],
        [alice, 'job-0012345'],
        [bob, body.id],
      ] as const) {
        const res = await tes(t.url, who).get(id, 'FULL').expect(404);
        expect(res.body).toEqual({
          code: 'TASK_NOT_FOUND',
          message: `no task ${id}`,
          request_id: res.headers['x-request-id'],
        });
        await tes(t.url, who).cancel(id).expect(404);
      }
      await tes(t.url, admin).get(body.id).expect(200);
    });

    it('rejects an unknown view with 400', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      const res = await tes(t.url, alice).get(body.id, 'EVERYTHING').expect(400);
      expect(res.body.errors).toEqual([{ path: 'view', reason: 'must be MINIMAL, BASIC or FULL' }]);
    });

    it('accepts 1,000 inputs and 1 MiB of inline content', async () => {
      const inputs = Array.from({ length: 1000 }, (_, i) => ({
        url: `https://usegalaxy.eu/api/jobs/abc/files?job_key=k&path=/srv/galaxy/objects/${i}.dat`,
        path: `/srv/galaxy/objects/${i}.dat`,
        type: 'FILE',
      }));
      inputs.push({ path: '/srv/job/big.txt', content: 'x'.repeat(1024 * 1024) } as never);
      const { body } = await tes(t.url, alice)
        .create({ ...MINIMAL_TASK, inputs })
        .expect(200);
      const full = await tes(t.url, alice).get(body.id, 'FULL').expect(200);
      expect(full.body.inputs).toHaveLength(1001);
      expect(full.body.inputs[1000].content).toHaveLength(1024 * 1024);
    });

    it('writes a task_event for acceptance', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      const events = await db.query(
        'SELECT from_state, to_state, reason FROM task_event WHERE task_id = $1',
        [body.id],
      );
      expect(events).toEqual([{ from_state: null, to_state: 'QUEUED', reason: 'accepted' }]);
    });
  });

  describe('simultaneous requests (creates, gets and list pages are grouped per event-loop turn)', () => {
    // Principals of their own: other tests count carol's and dave's tasks.
    let carol: TestPrincipal;
    let dave: TestPrincipal;
    beforeAll(async () => {
      carol = await createPrincipal(t, 'submitter');
      dave = await createPrincipal(t, 'submitter');
    });

    it('stores each of many simultaneous creates once, with its own QUEUED event and submitter', async () => {
      const sent = Array.from({ length: 60 }, (_, i) => ({
        who: i % 2 === 0 ? carol : dave,
        name: `burst-${i}`,
      }));
      const ids = await Promise.all(
        sent.map(async ({ who, name }) => {
          const res = await tes(t.url, who)
            .create({ ...MINIMAL_TASK, name })
            .expect(200);
          return res.body.id as string;
        }),
      );
      expect(new Set(ids).size).toBe(60);
      const rows: Array<{
        id: string;
        name: string;
        submitter_id: string;
        events: number;
        to_state: string;
      }> = await db.query(
        `SELECT t.id, t.name, t.submitter_id, count(e.id)::int AS events, min(e.to_state) AS to_state
           FROM task t JOIN task_event e ON e.task_id = t.id WHERE t.id = ANY($1::uuid[]) GROUP BY t.id`,
        [ids],
      );
      expect(rows).toHaveLength(60);
      for (const [i, id] of ids.entries()) {
        expect(rows.find((r) => r.id === id)).toEqual({
          id,
          name: `burst-${i}`,
          submitter_id: sent[i].who.id,
          events: 1,
          to_state: 'QUEUED',
        });
      }
    });

    it("answers each of many simultaneous gets with its own task, and 404 for unknown ids and others' tasks", async () => {
      const createFor = async (who: TestPrincipal, i: number) =>
        (
          await tes(t.url, who)
            .create({ ...MINIMAL_TASK, name: `poll-${who.name}-${i}` })
            .expect(200)
        ).body.id as string;
      const mine = await Promise.all(Array.from({ length: 8 }, (_, i) => createFor(carol, i)));
      const theirs = await Promise.all(Array.from({ length: 8 }, (_, i) => createFor(dave, i)));
      const views = ['MINIMAL', 'BASIC', 'FULL'] as const;
      const asks: Array<{ id: string; view: string; status: number; name?: string }> = [
        ...mine.map((id, i) => ({ id, view: views[i % 3], status: 200, name: `poll-${carol.name}-${i}` })),
        ...theirs.map((id, i) => ({ id, view: views[i % 3], status: 404 })),
        ...Array.from({ length: 8 }, (_, i) => ({
          id: `01a21700-0000-7000-8000-00000000000${i}`,
          view: views[i % 3],
          status: 404,
        })),
      ];
      const answers = await Promise.all(asks.map((a) => tes(t.url, carol).get(a.id, a.view)));
      for (const [i, a] of asks.entries()) {
        const res = answers[i];
        expect(res.status).toBe(a.status);
        if (a.status !== 200) continue;
        expect(res.body.id).toBe(a.id);
        expect(res.body.state).toBe('QUEUED');
        if (a.view === 'MINIMAL') expect(Object.keys(res.body)).toEqual(['id', 'state']);
        else expect(res.body.name).toBe(a.name);
      }
    });

    it("answers each of many simultaneous list pages with its own submitter's tasks, whatever the view, size or cursor", async () => {
      const erin = await createPrincipal(t, 'submitter'); // owns nothing
      const firstOf = async (who: TestPrincipal, query: string) =>
        (await tes(t.url, who).list(query).expect(200)).body.next_page_token as string;
      const asks: Array<{ who: TestPrincipal; query: string }> = [];
      for (const who of [carol, dave]) {
        const cursor = await firstOf(who, 'page_size=5');
        for (const view of ['MINIMAL', 'BASIC', 'FULL'])
          for (const size of ['', '&page_size=4', '&page_size=1000'])
            for (const token of ['', `&page_token=${cursor}`])
              asks.push({ who, query: `view=${view}${size}${token}` });
      }
      asks.push({ who: erin, query: '' }, { who: admin, query: 'page_size=2' });
      // What each request answers alone, then all at once: the same.
      const alone = [];
      for (const a of asks) alone.push((await tes(t.url, a.who).list(a.query).expect(200)).body);
      const together = await Promise.all(asks.map((a) => tes(t.url, a.who).list(a.query)));
      for (const [i, res] of together.entries()) {
        expect(res.status).toBe(200);
        expect({ ask: asks[i].query, body: res.body }).toEqual({ ask: asks[i].query, body: alone[i] });
      }
      expect(alone[asks.length - 2]).toEqual({ tasks: [] });
      const carols = (
        await db.query(`SELECT id FROM task WHERE submitter_id = $1 ORDER BY id DESC`, [carol.id])
      ).map((r: { id: string }) => r.id);
      const ids = (body: { tasks: Array<{ id: string }> }) => body.tasks.map((x) => x.id);
      expect(ids(alone[0])).toEqual(carols.slice(0, 3)); // the default page size here
      expect(ids(alone[1])).toEqual(carols.slice(5, 8)); // after the cursor of a page of 5
      expect(ids(alone[4])).toEqual(carols.slice(0, 1000));
    });

    it("reads submitters' MINIMAL pages asked in the same turn of the event loop with one statement", async () => {
      const tasks = t.app.get(TaskRepository);
      const own = async (who: TestPrincipal) =>
        (await db.query(`SELECT id FROM task WHERE submitter_id = $1 ORDER BY id DESC`, [who.id])).map(
          (r: { id: string }) => r.id,
        );
      const [carols, daves] = [await own(carol), await own(dave)];
      const query = jest.spyOn(t.app.get(PreparedSql), 'query');
      try {
        // The default page size here is 3.
        const [c, d, dAfter, cBasic] = await Promise.all([
          tasks.listJson({ submitterId: carol.id, tags: [] }, 'MINIMAL', 3),
          tasks.listJson({ submitterId: dave.id, tags: [] }, 'MINIMAL', 3),
          tasks.listJson({ submitterId: dave.id, tags: [], beforeId: daves[4] }, 'MINIMAL', 3),
          tasks.listJson({ submitterId: carol.id, tags: [] }, 'BASIC', 3),
        ]);
        expect(query).toHaveBeenCalledTimes(2); // the MINIMAL pages, then the BASIC one
        const ids = (page: { tasks: string }) =>
          JSON.parse(`[${page.tasks}]`).map((x: { id: string }) => x.id);
        expect(ids(c)).toEqual(carols.slice(0, 3));
        expect(ids(d)).toEqual(daves.slice(0, 3));
        expect(d.nextAfterId).toBe(daves[2]);
        expect(ids(dAfter)).toEqual(daves.slice(5, 8));
        expect(ids(cBasic)).toEqual(carols.slice(0, 3));

        // In one statement too: a submitter with no tasks, a last page, a page past the last task.
        query.mockClear();
        const erin = await createPrincipal(t, 'submitter');
        const [none, last, past] = await Promise.all([
          tasks.listJson({ submitterId: erin.id, tags: [] }, 'MINIMAL', 3),
          tasks.listJson({ submitterId: dave.id, tags: [], beforeId: daves[daves.length - 3] }, 'MINIMAL', 3),
          tasks.listJson({ submitterId: dave.id, tags: [], beforeId: daves[daves.length - 1] }, 'MINIMAL', 3),
        ]);
        expect(query).toHaveBeenCalledTimes(1);
        expect(none).toEqual({ tasks: '' });
        expect(ids(last)).toEqual(daves.slice(-2));
        expect(last.nextAfterId).toBeUndefined();
        expect(past).toEqual({ tasks: '' });
      } finally {
        query.mockRestore();
      }
    });

    it('walks the (submitter_id, id) index alone for grouped pages, whatever plan PostgreSQL caches', async () => {
      const runner = db.createQueryRunner();
      try {
        await runner.query('SET plan_cache_mode = force_generic_plan');
        await runner.query(`PREPARE grouped_pages(uuid[], uuid[]) AS ${minimalPagesSql(3)}`);
        const plan = (
          await runner.query(
            // EXPLAIN EXECUTE takes no bind parameters; these ids come from the database.
            `EXPLAIN EXECUTE grouped_pages(ARRAY['${carol.id}', '${dave.id}']::uuid[], ` +
              `ARRAY['${NO_CURSOR}', '${NO_CURSOR}']::uuid[])`,
          )
        )
          .map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN'])
          .join('\n');
        expect(plan).toContain('Index Only Scan Backward using task_submitter_id_id_idx');
        expect(plan).not.toContain('task_pkey');
        await runner.query('DEALLOCATE grouped_pages');
      } finally {
        await runner.query('RESET plan_cache_mode');
        await runner.release();
      }
    });
  });

  describe('ListTasks', () => {
    let owner: TestPrincipal;
    const ids: string[] = [];

    beforeAll(async () => {
      owner = await createPrincipal(t, 'submitter');
      for (let i = 0; i < 7; i++) {
        const { body } = await tes(t.url, owner)
          .create({
            ...MINIMAL_TASK,
            name: i % 2 === 0 ? `even_${i}` : `odd%${i}`,
            tags: { i: String(i), parity: i % 2 === 0 ? 'even' : 'odd' },
          })
          .expect(200);
        ids.push(body.id);
      }
    });

    const names = (res: request.Response) => res.body.tasks.map((x: { name: string }) => x.name);

    it('lists newest first in MINIMAL by default with the configured default page size', async () => {
      const res = await tes(t.url, owner).list('').expect(200);
      expect(res.body.tasks).toEqual([
        { id: ids[6], state: 'QUEUED' },
        { id: ids[5], state: 'QUEUED' },
        { id: ids[4], state: 'QUEUED' },
      ]);
      expect(typeof res.body.next_page_token).toBe('string');
    });

    it('pages through everything with page tokens, no gaps or repeats, stable under concurrent inserts', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const res = await tes(t.url, owner)
          .list(`view=BASIC&page_size=2${token ? `&page_token=${token}` : ''}`)
          .expect(200);
        seen.push(...res.body.tasks.map((x: { id: string }) => x.id));
        token = res.body.next_page_token;
        pages++;
        // A task created mid-listing is newer than the cursor: it must not appear on later pages.
        if (pages === 1)
          await tes(t.url, owner)
            .create({ ...MINIMAL_TASK, name: 'late' })
            .expect(200);
      } while (token);
      expect(pages).toBe(4);
      expect(seen).toEqual([...ids].reverse());
    });

    it('filters by name prefix, treating % and _ literally', async () => {
      expect(names(await tes(t.url, owner).list('view=BASIC&name_prefix=odd%25').expect(200))).toEqual([
        'odd%5',
        'odd%3',
        'odd%1',
      ]);
      expect(
        names(await tes(t.url, owner).list('view=BASIC&name_prefix=even_&page_size=10').expect(200)),
      ).toEqual(['even_6', 'even_4', 'even_2', 'even_0']);
      expect(names(await tes(t.url, owner).list('view=BASIC&name_prefix=ven').expect(200))).toEqual([]);
      expect(names(await tes(t.url, owner).list('view=BASIC&name_prefix=o_d').expect(200))).toEqual([]);
    });

    it('filters by state', async () => {
      await db.query(`UPDATE task SET state = 'COMPLETE' WHERE id = $1`, [ids[2]]);
      const res = await tes(t.url, owner).list('state=COMPLETE').expect(200);
      expect(res.body).toEqual({ tasks: [{ id: ids[2], state: 'COMPLETE' }] });
      const bad = await tes(t.url, owner).list('state=DONE').expect(400);
      expect(bad.body.errors[0].path).toBe('state');
    });

    it('filters by tags as the spec zips tag_key with tag_value (AND; empty value = key present)', async () => {
      const tagged = await createPrincipal(t, 'submitter');
      const client = tes(t.url, tagged);
      const t1 = (
        await client.create({
          ...MINIMAL_TASK,
          tags: { foo: 'bar', baz: 'bat', lorem: 'ipsum', task: 'create' },
        })
      ).body.id;
      const t2 = (await client.create({ ...MINIMAL_TASK, tags: { abcxyz: '' } })).body.id;
      await client.create(MINIMAL_TASK);
      const ids = async (q: string) =>
        (await client.list(`view=BASIC&${q}`).expect(200)).body.tasks.map((x: { id: string }) => x.id);
      expect(
        await ids(
          'tag_key=foo&tag_key=lorem&tag_key=task&tag_key=baz&tag_value=bar&tag_value=ipsum&tag_value=create&tag_value=bat',
        ),
      ).toEqual([t1]);
      expect(await ids('tag_key=foo&tag_key=lorem&tag_key=baz&tag_value=bar&tag_value=ipsum')).toEqual([t1]);
      expect(await ids('tag_key=foo&tag_key=lorem&tag_key=extra&tag_value=bar&tag_value=ipsum')).toEqual([]);
      expect(await ids('tag_key=foo&tag_value=wrong_value')).toEqual([]);
      expect(await ids('tag_key=abcxyz')).toEqual([t2]);
      expect(await ids('tag_key=tag_key_not_defined&tag_value=tag_value_not_defined')).toEqual([]);
      const bad = await client.list('tag_value=x').expect(400);
      expect(bad.body.errors).toEqual([
        { path: 'tag_value', reason: 'has more values than tag_key has keys' },
      ]);
    });

    it('accepts a state in any case, many tag keys, and keeps the last value of a repeated tag key', async () => {
      expect((await tes(t.url, owner).list('state=complete').expect(200)).body.tasks.length).toBeGreaterThan(
        0,
      );
      const many = Array.from({ length: 25 }, (_, i) => `tag_key=k${i}`).join('&');
      expect((await tes(t.url, owner).list(many).expect(200)).body).toEqual({ tasks: [] });
      // {"parity": ""}: the later, empty value wins, so both parities match (7 tagged tasks; "late" has none).
      const res = await tes(t.url, owner)
        .list('tag_key=parity&tag_value=even&tag_key=parity&page_size=10')
        .expect(200);
      expect(res.body.tasks).toHaveLength(7);
    });

    it('rejects a name_prefix PostgreSQL cannot compare with 400', async () => {
      const res = await tes(t.url, owner).list('name_prefix=a%00b').expect(400);
      expect(res.body.errors).toEqual([{ path: 'name_prefix', reason: 'must not contain NUL characters' }]);
    });

    it('combines filters with paging', async () => {
      const first = await tes(t.url, owner)
        .list('tag_key=parity&tag_value=even&page_size=1&view=BASIC')
        .expect(200);
      expect(names(first)).toEqual(['even_6']);
      const second = await tes(t.url, owner)
        .list(`tag_key=parity&tag_value=even&page_size=3&view=BASIC&page_token=${first.body.next_page_token}`)
        .expect(200);
      expect(names(second)).toEqual(['even_4', 'even_2', 'even_0']);
      expect(second.body.next_page_token).toBeUndefined();
    });

    it.each([
      [
        'page_size=2048',
        'page_size',
        'must be a whole number from 1 to 2047 (the spec bounds it below 2048)',
      ],
      ['page_size=0', 'page_size', 'must be a whole number from 1 to 2047 (the spec bounds it below 2048)'],
      ['page_size=ten', 'page_size', 'must be a whole number from 1 to 2047 (the spec bounds it below 2048)'],
      ['page_token=garbage', 'page_token', 'is not a page token this server issued'],
      ['view=ALL', 'view', 'must be MINIMAL, BASIC or FULL'],
      ['view=BASIC&view=FULL', 'view', 'must be given at most once'],
    ])('rejects %s with 400', async (query, path, reason) => {
      const res = await tes(t.url, owner).list(query).expect(400);
      expect(res.body.errors).toEqual([{ path, reason }]);
    });

    it('accepts page_size 2047', async () => {
      const res = await tes(t.url, owner).list('page_size=2047').expect(200);
      expect(res.body.tasks).toHaveLength(8);
    });

    it("shows a submitter only its own tasks, and an admin everyone's", async () => {
      const mine = await tes(t.url, bob).list('page_size=2047').expect(200);
      expect(mine.body.tasks).toEqual([]);
      const all = await tes(t.url, admin).list(`page_size=2047`).expect(200);
      expect(all.body.tasks.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(ids));
    });

    it("pages an admin through everyone's tasks at the default size (a prepared statement), in each view", async () => {
      const everyone = (await db.query(`SELECT id FROM task ORDER BY id DESC`)).map(
        (r: { id: string }) => r.id,
      );
      for (const view of ['MINIMAL', 'BASIC', 'FULL']) {
        const seen: string[] = [];
        let token: string | undefined;
        // Past PostgreSQL's five custom plans, so the generic plan answers the later pages.
        for (let page = 0; page < 8; page++) {
          const res = await tes(t.url, admin)
            .list(`view=${view}${token ? `&page_token=${token}` : ''}`)
            .expect(200);
          seen.push(...res.body.tasks.map((x: { id: string }) => x.id));
          token = res.body.next_page_token;
        }
        expect(seen).toEqual(everyone.slice(0, 24)); // 8 pages of the default 3
      }
    });
  });

  describe('CancelTask', () => {
    it.each(['QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED'])(
      'moves a %s task through CANCELING to CANCELED',
      async (state) => {
        const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
        await db.query('UPDATE task SET state = $2 WHERE id = $1', [body.id, state]);
        const res = await tes(t.url, alice).cancel(body.id).expect(200);
        expect(res.body).toEqual({});
        expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe('CANCELED');
        const events = await db.query(
          'SELECT from_state, to_state FROM task_event WHERE task_id = $1 ORDER BY id',
          [body.id],
        );
        expect(events.slice(1)).toEqual([
          { from_state: state, to_state: 'CANCELING' },
          { from_state: 'CANCELING', to_state: 'CANCELED' },
        ]);
      },
    );

    it('moves an UNKNOWN task to CANCELED too', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      await db.query(`UPDATE task SET state = 'UNKNOWN' WHERE id = $1`, [body.id]);
      await tes(t.url, alice).cancel(body.id).expect(200, {});
      expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe('CANCELED');
    });

    it('leaves a task already submitted to a site CANCELING, for dispatch to stop it there', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      await db.query(
        `UPDATE task SET state = 'RUNNING', site_id = $2, remote_id = 'pulsar-job-1' WHERE id = $1`,
        [body.id, '0190a000-0000-7000-8000-000000000001'],
      );
      await tes(t.url, alice).cancel(body.id).expect(200, {});
      expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe('CANCELING');
      await tes(t.url, alice).cancel(body.id).expect(200, {});
      const events = await db.query('SELECT to_state FROM task_event WHERE task_id = $1 ORDER BY id', [
        body.id,
      ]);
      expect(events.map((e: { to_state: string }) => e.to_state)).toEqual(['QUEUED', 'CANCELING']);
    });

    it('applies one cancel when several race, with each transition recorded once', async () => {
      const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
      const answers = await Promise.all(Array.from({ length: 6 }, () => tes(t.url, alice).cancel(body.id)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const events = await db.query('SELECT to_state FROM task_event WHERE task_id = $1 ORDER BY id', [
        body.id,
      ]);
      expect(events.map((e: { to_state: string }) => e.to_state)).toEqual([
        'QUEUED',
        'CANCELING',
        'CANCELED',
      ]);
    });

    it.each(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED', 'CANCELING'])(
      'leaves a %s task as it is and still answers 200 {}',
      async (state) => {
        const { body } = await tes(t.url, alice).create(MINIMAL_TASK).expect(200);
        await db.query('UPDATE task SET state = $2 WHERE id = $1', [body.id, state]);
        expect((await tes(t.url, alice).cancel(body.id).expect(200)).body).toEqual({});
        expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe(state);
        const events = await db.query('SELECT count(*)::int AS n FROM task_event WHERE task_id = $1', [
          body.id,
        ]);
        expect(events[0].n).toBe(1);
      },
    );

    it("accepts the suite's {} body and works under /v1", async () => {
      const { body } = await tes(t.url, alice, '/v1').create(MINIMAL_TASK).expect(200);
      await request(t.url)
        .post(`/v1/tasks/${body.id}:cancel`)
        .set('Authorization', alice.basic)
        .send({})
        .expect(200, {});
      expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe('CANCELED');
    });
  });

  describe('routing for clients that probe prefixes', () => {
    it.each([
      '/ga4gh/tes/v1/ga4gh/tes/v1/tasks',
      '/ga4gh/tes/v1/v1/tasks',
      '/tasks',
      '/ga4gh/tes/v1/tasks/service-info/x',
    ])('answers %s with 404 even without credentials, so py-tes moves on to the next base', async (path) => {
      const res = await request(t.url).get(path).expect(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    });
  });

  describe('OpenAPI', () => {
    it("describes the TES paths with the spec's own schemas", async () => {
      const doc = (await request(t.url).get('/openapi.json').expect(200)).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/ga4gh/tes/v1/service-info',
          '/ga4gh/tes/v1/tasks',
          '/ga4gh/tes/v1/tasks/{id}',
          '/ga4gh/tes/v1/tasks/{id}:cancel',
        ]),
      );
      expect(doc.paths['/ga4gh/tes/v1/tasks'].post.operationId).toBe('CreateTask');
      expect(doc.components.schemas.tesTask.required).toEqual(['executors']);
      // The spec's task fields are exactly the ones strict clients accept from us.
      expect(Object.keys(doc.components.schemas.tesTask.properties)).toEqual(ALLOWED.task);
    });
  });
});
