import request from 'supertest';
import { TES_STATES } from '@constellation/tes';
import { NEXTFLOW_TASK, SNAKEMAKE_TASK } from './support/client-tasks';
import { createPrincipal, TestPrincipal } from './support/principals';
import { PY_TES_SERVICE_INFO_KEYS, unknownTaskKeys } from './support/tes-schema';
import { startTestApp, TestApp } from './support/test-app';

// The states Galaxy's TES runner acts on (CANCELING and PREEMPTED match none of its lists: it would poll forever).
const GALAXY_HANDLED_STATES: readonly string[] = TES_STATES.filter(
  (state) => !['UNKNOWN', 'CANCELING', 'PREEMPTED'].includes(state),
);

describe('real TES clients, request for request', () => {
  let t: TestApp;
  let galaxy: TestPrincipal;

  beforeAll(async () => {
    t = await startTestApp();
    galaxy = await createPrincipal(t, 'submitter', { name: 'usegalaxy-eu' });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("Galaxy's TES runner (lib/galaxy/jobs/runners/tes.py)", () => {
    // tes_master_addr = https://usegalaxy-eu:<token>@broker/ : requests turns the URL's userinfo into Basic.
    const files = 'https://usegalaxy.eu/api/jobs/f2db41e1fa331b3e/files?job_key=0b7c1e6a9d';
    const job = (n: number) => ({
      name: 'Galaxy Job Execution',
      description: 'data on any column using simple expressions',
      inputs: [
        {
          path: `/srv/galaxy/database/jobs_directory/000/${n}/createfiles.sh`,
          content:
            'mkdir -p /srv/galaxy/database/objects/3/a/1 && touch /srv/galaxy/database/objects/3/a/1/dataset_3a1.dat \n',
        },
        ...[
          '/srv/galaxy/lib/galaxy/jobs/runners/util/file-staging.py',
          `/srv/galaxy/database/jobs_directory/000/${n}/tool_script.sh`,
          '/srv/galaxy/database/objects/0/0/7/dataset_007.dat',
          '/srv/galaxy/database/objects/0/0/8/dataset_008.dat',
        ].map((p) => ({ url: `${files}&path=${p}`, path: p, type: 'FILE' })),
      ],
      executors: [
        {
          workdir: '/srv/galaxy/database/',
          image: 'python:3.9-slim',
          command: ['/bin/bash', `/srv/galaxy/database/jobs_directory/000/${n}/createfiles.sh`],
        },
        {
          workdir: '/srv/galaxy/database/',
          image: 'quay.io/biocontainers/python:3.9',
          command: ['/bin/bash', `/srv/galaxy/database/jobs_directory/000/${n}/tool_script.sh`],
          env: { GALAXY_SLOTS: '1', _GALAXY_JOB_TMP_DIR: '/tmp', _GALAXY_JOB_HOME_DIR: '/tmp' },
        },
        {
          workdir: '/srv/galaxy/database/',
          image: 'python:3.9-slim',
          command: [
            'python',
            '/srv/galaxy/lib/galaxy/jobs/runners/util/file-staging.py',
            files,
            `/srv/galaxy/database/jobs_directory/000/${n}`,
            '/srv/galaxy/database/objects/3/a/1/dataset_3a1.dat',
          ],
        },
      ],
      volumes: ['/srv/galaxy/database/'],
    });

    it('submits, polls every job with view=FULL, and cancels as the runner does', async () => {
      const ids: string[] = [];
      for (let n = 1; n <= 5; n++) {
        const res = await request(t.url)
          .post('/v1/tasks')
          .set('Authorization', galaxy.basic)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(job(n)))
          .expect(200);
        ids.push(res.body.id);
      }
      for (const id of ids) {
        const res = await request(t.url)
          .get(`/v1/tasks/${id}`)
          .query({ view: 'FULL' })
          .set('Authorization', galaxy.basic)
          .expect(200);
        // The runner reads data['state'] and, once finished, iterates data['logs']: both must be there.
        expect(GALAXY_HANDLED_STATES).toContain(res.body.state);
        expect(Array.isArray(res.body.logs)).toBe(true);
        expect(res.body.inputs[0]).toEqual({
          ...job(1).inputs[0],
          path: res.body.inputs[0].path,
          type: 'FILE',
        });
        expect(res.body.executors).toHaveLength(3);
        expect(unknownTaskKeys(res.body)).toEqual([]);
      }
      // requests.post(url) with no body and no Content-Type.
      const cancel = await request(t.url)
        .post(`/v1/tasks/${ids[0]}:cancel`)
        .set('Authorization', galaxy.basic)
        .expect(200);
      expect(cancel.body).toEqual({});
      const after = await request(t.url)
        .get(`/v1/tasks/${ids[0]}?view=FULL`)
        .set('Authorization', galaxy.basic)
        .expect(200);
      expect(after.body.state).toBe('CANCELED');
    });

    it('lets a Galaxy watching thousands of jobs poll them all with view=FULL, above 6000 a minute, without a 429', async () => {
      const { body } = await request(t.url)
        .post('/v1/tasks')
        .set('Authorization', galaxy.basic)
        .send(job(7))
        .expect(200);
      const statuses = new Map<number, number>();
      const agent = request.agent(t.url);
      let next = 0;
      // 6,500 reads (two poll rounds over 3,250 jobs), eight at a time, as fast as the broker answers.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < 6500) {
            const res = await agent.get(`/v1/tasks/${body.id}?view=FULL`).set('Authorization', galaxy.basic);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }),
      );
      expect([...statuses.entries()]).toEqual([[200, 6500]]);
    }, 120_000);

    it('rejects a wrong password in the URL with 401 and WWW-Authenticate', async () => {
      const wrong = `Basic ${Buffer.from(`usegalaxy-eu:${'A'.repeat(43)}`).toString('base64')}`;
      const res = await request(t.url).post('/v1/tasks').set('Authorization', wrong).send(job(9)).expect(401);
      expect(res.headers['www-authenticate']).toContain('Basic realm="constellation"');
      expect(res.body.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('py-tes 1.1 (HTTPClient)', () => {
    // py-tes sends Content-Type: application/json on every request, GETs included, and drops None fields.
    const json = (r: request.Test) =>
      r.set('Content-Type', 'application/json').set('Authorization', galaxy.bearer);

    it('creates, gets BASIC, waits on MINIMAL, lists and cancels; every response parses with its strict models', async () => {
      const body = {
        name: 'hello',
        inputs: [{ path: '/data/in.txt', type: 'FILE', content: 'hi' }],
        outputs: [{ url: 's3://b/out.txt', path: '/data/out.txt', type: 'FILE' }],
        resources: { cpu_cores: 1, ram_gb: 1.0 },
        executors: [{ image: 'alpine', command: ['cat', '/data/in.txt'], stdout: '/data/out.txt' }],
        tags: { k: 'v' },
      };
      const created = await json(request(t.url).post('/ga4gh/tes/v1/tasks'))
        .send(JSON.stringify(body))
        .expect(200);
      expect(Object.keys(created.body)).toEqual(['id']);
      const basic = await json(
        request(t.url).get(`/ga4gh/tes/v1/tasks/${created.body.id}?view=BASIC`),
      ).expect(200);
      expect(unknownTaskKeys(basic.body)).toEqual([]);
      expect(basic.body.inputs).toEqual([{ path: '/data/in.txt', type: 'FILE' }]);
      const minimal = await json(
        request(t.url).get(`/ga4gh/tes/v1/tasks/${created.body.id}?view=MINIMAL`),
      ).expect(200);
      expect(minimal.body).toEqual({ id: created.body.id, state: 'QUEUED' });
      const list = await json(request(t.url).get('/ga4gh/tes/v1/tasks?view=MINIMAL&page_size=1')).expect(200);
      expect(Object.keys(list.body).sort()).toEqual(['next_page_token', 'tasks']);
      expect(list.body.tasks).toEqual([{ id: created.body.id, state: 'QUEUED' }]);
      await json(request(t.url).post(`/ga4gh/tes/v1/tasks/${created.body.id}:cancel`)).expect(200);
      const info = await json(request(t.url).get('/ga4gh/tes/v1/service-info')).expect(200);
      expect(Object.keys(info.body).filter((k) => !PY_TES_SERVICE_INFO_KEYS.includes(k))).toEqual([]);
    });
  });

  describe('Snakemake (py-tes 0.4) and Nextflow (nf-ga4gh)', () => {
    it('serves py-tes 0.4: /v1 paths, integer ram_gb, MINIMAL polling, service-info under /v1/tasks', async () => {
      const body = SNAKEMAKE_TASK;
      const { body: created } = await request(t.url)
        .post('/v1/tasks')
        .set('Authorization', galaxy.basic)
        .send(body)
        .expect(200);
      const polled = await request(t.url)
        .get(`/v1/tasks/${created.id}?view=MINIMAL`)
        .set('Authorization', galaxy.basic)
        .expect(200);
      expect(polled.body).toEqual({ id: created.id, state: 'QUEUED' });
      const info = await request(t.url).get('/v1/tasks/service-info').expect(200);
      expect(info.body.type.artifact).toBe('tes');
    });

    it('tells a py-tes 0.4 client without credentials (Basic None:None) what is wrong', async () => {
      const res = await request(t.url)
        .get('/v1/tasks?view=MINIMAL')
        .set('Authorization', `Basic ${Buffer.from('None:None').toString('base64')}`)
        .expect(401);
      expect(res.body.message).toBe(
        'malformed Authorization header: Basic credentials None:None: configure the client with a token',
      );
    });

    it('serves Nextflow: outputs without type, a glob output, and GET without a view', async () => {
      const body = NEXTFLOW_TASK;
      const { body: created } = await request(t.url)
        .post('/v1/tasks')
        .set('Authorization', galaxy.bearer)
        .send(body)
        .expect(200);
      const polled = await request(t.url)
        .get(`/v1/tasks/${created.id}`)
        .set('Authorization', galaxy.bearer)
        .expect(200);
      expect(polled.body).toEqual({ id: created.id, state: 'QUEUED' });
      const full = await request(t.url)
        .get(`/v1/tasks/${created.id}?view=FULL`)
        .set('Authorization', galaxy.bearer)
        .expect(200);
      expect(full.body.outputs[0]).toEqual({
        url: 's3://bkt/work/ab/12cd/.command.out',
        path: '/work/.command.out',
        type: 'FILE',
      });
    });
  });

  describe('GA4GH TES conformance suite (openapi-test-runner tests/*.yml) requests', () => {
    const suite = (r: request.Test) =>
      r
        .set('Accept', 'application/json')
        .set('Content-Type', 'application/json')
        .set('Authorization', galaxy.bearer);
    const template = {
      name: 'CompTest',
      description: 'CompTest',
      executors: [{ image: 'alpine', command: ['echo', 'hello'] }],
    };
    const create = async (over: Record<string, unknown> = {}, status = 200) =>
      (
        await suite(request(t.url).post('/ga4gh/tes/v1/tasks'))
          .send({ ...template, ...over })
          .expect(status)
      ).body;

    it.each([
      [
        'create_task_inputs',
        { inputs: [{ url: 's3://my-object-store/file-1', path: '/data/file1', type: 'FILE' }] },
      ],
      [
        'create_task_outputs',
        { outputs: [{ url: 's3://my-object-store/outfile-1', path: '/data/outfile', type: 'FILE' }] },
      ],
      [
        'create_task_optional_filetype',
        {
          inputs: [{ url: 's3://my-object-store/file-1', path: '/data/file1' }],
          outputs: [{ url: 's3://my-object-store/outfile-1', path: '/data/outfile' }],
        },
      ],
      [
        'create_task_streamable',
        {
          inputs: [
            {
              name: 'access-file',
              description: 'Access file resource via streaming',
              url: 's3://my-object-store/file1',
              path: '/data/file1',
              streamable: true,
            },
          ],
        },
      ],
      [
        'create_task_backend_parameters',
        {
          resources: {
            backend_parameters: { VmSize: 'Standard_D64_v3', Caching: 'ReadWrite' },
            backend_parameters_strict: false,
          },
        },
      ],
      [
        'create_task_ignore_error',
        {
          executors: [
            { image: 'alpine', command: ['ERROR'], ignore_error: true },
            { image: 'alpine', command: ['echo', 'hello'] },
          ],
        },
      ],
    ])('%s: 200 with {id}', async (_name, over) => {
      const body = await create(over);
      expect(typeof body.id).toBe('string');
    });

    it('create_task_backend_parameters_negative: strict unknown key is 400', async () => {
      await create(
        { resources: { backend_parameters: { INVALID: 'PARAMETER' }, backend_parameters_strict: true } },
        400,
      );
    });

    it.each(['MINIMAL', 'BASIC', 'FULL'])(
      'get_task_%s and list_tasks_%s validate against the spec schema',
      async (view) => {
        const { id } = await create();
        const got = (await suite(request(t.url).get(`/ga4gh/tes/v1/tasks/${id}?view=${view}`)).expect(200))
          .body;
        const listed = (await suite(request(t.url).get(`/ga4gh/tes/v1/tasks?view=${view}`)).expect(200)).body;
        for (const task of [got, ...listed.tasks]) {
          expect(typeof task.id).toBe('string');
          expect(TES_STATES).toContain(task.state);
          if (view === 'MINIMAL') expect(Object.keys(task).sort()).toEqual(['id', 'state']);
          else {
            expect(
              task.executors.every(
                (e: { image: string; command: string[] }) =>
                  typeof e.image === 'string' && Array.isArray(e.command),
              ),
            ).toBe(true);
            expect(
              task.logs.every(
                (l: { logs: unknown; outputs: unknown }) => Array.isArray(l.logs) && Array.isArray(l.outputs),
              ),
            ).toBe(true);
            expect(unknownTaskKeys(task)).toEqual([]);
          }
        }
      },
    );

    it('list_tasks_page_size and list_tasks_page_token', async () => {
      await create();
      await create();
      const one = (
        await suite(request(t.url).get('/ga4gh/tes/v1/tasks?view=MINIMAL&page_size=1')).expect(200)
      ).body;
      expect(one.tasks).toHaveLength(1);
      const two = (
        await suite(request(t.url).get('/ga4gh/tes/v1/tasks?view=MINIMAL&page_size=2')).expect(200)
      ).body;
      expect(two.tasks).toHaveLength(2);
      const next = (
        await suite(
          request(t.url).get(
            `/ga4gh/tes/v1/tasks?view=MINIMAL&page_size=1&page_token=${one.next_page_token}`,
          ),
        ).expect(200)
      ).body;
      expect(next.tasks).toHaveLength(1);
      expect(next.tasks[0].id).toBe(two.tasks[1].id);
    });

    it('filter_task_by_name', async () => {
      await create({ name: 'e70dda48-ComplianceTest' });
      await create({ name: 'b51f4c41-ComplianceTest' });
      await create({ name: 'ComplianceTest-f9327c19' });
      const byName = async (prefix: string) =>
        (await suite(request(t.url).get(`/ga4gh/tes/v1/tasks?view=BASIC&name_prefix=${prefix}`)).expect(200))
          .body.tasks;
      expect((await byName('e70dda48-ComplianceTest'))[0].name).toBe('e70dda48-ComplianceTest');
      expect((await byName('b51f4c41'))[0].name).toMatch(/^b51f4c41/);
      expect(await byName('f9327c19')).toEqual([]);
    });

    it('cancel_task: 200 with {} body, then CANCELED or CANCELING', async () => {
      const { id } = await create();
      expect(
        (
          await suite(request(t.url).post(`/ga4gh/tes/v1/tasks/${id}:cancel`))
            .send({})
            .expect(200)
        ).body,
      ).toEqual({});
      const state = (await suite(request(t.url).get(`/ga4gh/tes/v1/tasks/${id}?view=MINIMAL`)).expect(200))
        .body.state;
      expect(['CANCELED', 'CANCELING']).toContain(state);
    });

    it('service_info: the required service-info fields', async () => {
      const info = (await suite(request(t.url).get('/ga4gh/tes/v1/service-info')).expect(200)).body;
      expect(info).toMatchObject({
        type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
        name: 'Constellation',
      });
      expect(info.organization.url).toMatch(/^https?:\/\//);
      expect(typeof info.version).toBe('string');
      expect(typeof info.id).toBe('string');
    });
  });
});
