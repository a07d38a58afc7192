import { SimSiteServer, type SimSiteConfig } from '../apps/sim-site/src';
import { waitFor } from './support/wait-for';

const TES = '/ga4gh/tes/v1';

function site(overrides: Partial<SimSiteConfig> = {}): SimSiteConfig {
  return {
    slug: 'sim-a',
    cores: 2,
    memoryGib: 16,
    perTask: { cores: 2, memoryGib: 8 },
    stagingSeconds: 0,
    ...overrides,
  };
}

function task(seconds: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'galaxy-fastqc-1',
    inputs: [{ url: 'https://usegalaxy.eu/api/jobs/1/files?path=a', path: '/in/a', content: undefined }],
    outputs: [{ url: 'https://usegalaxy.eu/api/jobs/1/files?path=b', path: '/out/b' }],
    executors: [{ image: 'quay.io/biocontainers/fastqc:0.12.1', command: ['fastqc', '/in/a'] }],
    tags: { 'constellation.sim_seconds': String(seconds), 'galaxy.tool': 'fastqc' },
    ...extra,
  };
}

describe('sim-site: simulated TES 1.1 sites', () => {
  let server: SimSiteServer;
  let base: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const create = async (body: unknown) => {
    const res = await call('POST', `${TES}/tasks`, body);
    expect(res.status).toBe(200);
    return res.body.id as string;
  };
  const state = async (id: string) => (await call('GET', `${TES}/tasks/${id}`)).body.state as string;
  const until = (id: string, ...want: string[]) =>
    waitFor(`task ${id} ${want.join(' or ')}`, async () =>
      want.includes(await state(id)) ? true : undefined,
    );
  const started = (id: string) => until(id, 'INITIALIZING', 'RUNNING');

  beforeEach(async () => {
    server = await SimSiteServer.start({
      sites: [site(), site({ slug: 'sim-b', speed: 0.001 })],
      controlPort: 0,
    });
    base = server.url('sim-a');
  });
  afterEach(() => server.close());

  it('answers service-info under /ga4gh/tes/v1 and /v1', async () => {
    for (const prefix of [TES, '/v1']) {
      const res = await call('GET', `${prefix}/service-info`);
      expect(res.status).toBe(200);
      expect(res.body.type).toEqual({ group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' });
      expect(res.body.storage).toEqual([]);
    }
    expect((await call('GET', '/elsewhere')).status).toBe(404);
  });

  it('runs a task for its hinted time and serves it in every view', async () => {
    const id = await create(task(0.05));
    await until(id, 'COMPLETE');
    const minimal = await call('GET', `${TES}/tasks/${id}`);
    expect(minimal.body).toEqual({ id, state: 'COMPLETE' });
    const basic = (await call('GET', `${TES}/tasks/${id}?view=BASIC`)).body;
    expect(basic.name).toBe('galaxy-fastqc-1');
    expect(basic.tags['galaxy.tool']).toBe('fastqc');
    expect(basic.logs[0].logs[0].exit_code).toBe(0);
    expect(basic.logs[0].logs[0].stdout).toBeUndefined();
    expect(basic.logs[0].system_logs).toBeUndefined();
    expect(basic.logs[0].metadata).toEqual({ site: 'sim-a', tool: 'fastqc', modelled_seconds: '0.1' });
    expect(basic.logs[0].outputs[0].path).toBe('/out/b');
    const full = (await call('GET', `${TES}/tasks/${id}?view=FULL`)).body;
    expect(full.logs[0].logs[0].stdout).toContain('Analysis complete for input.fastq.gz');
    expect(full.logs[0].system_logs).toEqual([
      'queued at sim-a',
      'staging inputs on 1 core(s), 3.8 GiB',
      'executor exited with 0',
    ]);
    expect(Date.parse(full.logs[0].end_time)).toBeGreaterThanOrEqual(Date.parse(full.logs[0].start_time));
  });

  it('draws the run time from the workload model when the task gives none', async () => {
    await server.close();
    server = await SimSiteServer.start({ sites: [site({ timeScale: 1e6 })] });
    base = server.url('sim-a');
    const id = await create(task(0, { tags: { 'galaxy.tool': 'bwa_mem' } }));
    await until(id, 'COMPLETE');
    const full = (await call('GET', `${TES}/tasks/${id}?view=FULL`)).body;
    expect(full.logs[0].metadata.tool).toBe('bwa_mem');
    expect(Number(full.logs[0].metadata.modelled_seconds)).toBeGreaterThanOrEqual(1);
    expect(full.logs[0].logs[0].stdout).toContain('overall alignment rate');
  });

  it('queues tasks beyond its cores and starts them as cores free up', async () => {
    const long = [await create(task(600)), await create(task(600))];
    const third = await create(task(0.01));
    await started(long[0]);
    await started(long[1]);
    expect(await state(third)).toBe('QUEUED');
    expect(server.site('sim-a').counts()).toMatchObject({ queued: 1, running: 2, coresInUse: 2 });
    expect((await call('POST', `${TES}/tasks/${long[0]}:cancel`)).body).toEqual({});
    await until(third, 'COMPLETE');
    expect(await state(long[0])).toBe('CANCELED');
  });

  it('scales the modelled time by the site speed', async () => {
    const slow = await (async () => {
      const res = await fetch(`${server.url('sim-b')}${TES}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(task(0.05)),
      });
      return ((await res.json()) as { id: string }).id;
    })();
    const fast = await create(task(0.05));
    await until(fast, 'COMPLETE');
    const res = await fetch(`${server.url('sim-b')}${TES}/tasks/${slow}`);
    // At speed 0.001 the 0.05 s task takes 50 s (plus staging): still not final.
    expect(((await res.json()) as { state: string }).state).not.toBe('COMPLETE');
  });

  it('lists with zipped tag filters, name prefix, state and pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await create(
          task(600, { name: `job-${i}`, tags: { 'constellation.task': `t${i % 2}`, attempt: String(i) } }),
        ),
      );
    const byTags = await call(
      'GET',
      `${TES}/tasks?tag_key=constellation.task&tag_value=t0&tag_key=attempt&tag_value=2`,
    );
    expect(byTags.body.tasks).toEqual([{ id: ids[2], state: expect.any(String) }]);
    const keyOnly = await call('GET', `${TES}/tasks?tag_key=constellation.task&view=BASIC`);
    expect(keyOnly.body.tasks.map((t: { id: string }) => t.id)).toEqual(ids);
    expect((await call('GET', `${TES}/tasks?name_prefix=job-3`)).body.tasks).toEqual([
      { id: ids[3], state: expect.any(String) },
    ]);
    expect(
      (await call('GET', `${TES}/tasks?state=QUEUED`)).body.tasks.map((t: { id: string }) => t.id),
    ).toEqual(ids.slice(2));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await call('GET', `${TES}/tasks?page_size=2${token ? `&page_token=${token}` : ''}`);
      expect(page.body.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.tasks.map((t: { id: string }) => t.id));
      token = page.body.next_page_token;
    } while (token);
    expect(seen).toEqual(ids);
  });

  it.each([
    ['page_size=2048', 'page_size'],
    ['page_size=0', 'page_size'],
    ['view=EVERYTHING', 'view'],
    ['state=DONE', 'state'],
    ['tag_value=x', 'tag_value'],
    ['page_token=bm90LWEtbnVtYmVy', 'page_token'],
  ])('refuses a list with %s (400 naming %s)', async (query, path) => {
    const res = await call('GET', `${TES}/tasks?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(path);
  });

  it.each([
    [{ executors: [] }, 'executors'],
    [{ executors: [{ image: 'x' }] }, 'executors[0].command'],
    [task('soon'), 'tags.constellation.sim_seconds'],
    [task(1, { resources: { cpu_cores: 4 } }), 'resources'],
  ])('refuses an invalid or oversized task (400 naming %#)', async (body, path) => {
    const res = await call('POST', `${TES}/tasks`, body);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(path);
  });

  it('answers 404 for an unknown task, and a cancel of a finished one changes nothing', async () => {
    expect((await call('GET', `${TES}/tasks/nope`)).status).toBe(404);
    expect((await call('POST', `${TES}/tasks/nope:cancel`)).status).toBe(404);
    const id = await create(task(0));
    await until(id, 'COMPLETE');
    expect((await call('POST', `${TES}/tasks/${id}:cancel`)).status).toBe(200);
    expect(await state(id)).toBe('COMPLETE');
  });

  it('fault refuse: new tasks get 422 until it recovers', async () => {
    await server.fault('sim-a', 'refuse');
    const res = await call('POST', `${TES}/tasks`, task(0));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('SITE_REFUSED');
    await server.recover('sim-a');
    await create(task(0));
  });

  it('fault silent: requests get no answer until it recovers', async () => {
    await server.fault('sim-a', 'silent');
    await expect(fetch(`${base}${TES}/service-info`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    await server.recover('sim-a');
    expect((await call('GET', `${TES}/service-info`)).status).toBe(200);
  });

  it('fault lose: the site forgets its tasks (404)', async () => {
    const id = await create(task(600));
    expect(await server.fault('sim-a', 'lose')).toBe(1);
    expect((await call('GET', `${TES}/tasks/${id}`)).status).toBe(404);
  });

  it('fault preempt: tasks holding cores end PREEMPTED, queued ones then start', async () => {
    const running = [await create(task(600)), await create(task(600))];
    const queued = await create(task(600));
    await started(running[0]);
    expect(await server.fault('sim-a', 'preempt')).toBe(2);
    expect(await state(running[0])).toBe('PREEMPTED');
    expect(await state(running[1])).toBe('PREEMPTED');
    await started(queued);
  });

  it('fault die: connections are refused; after recovery it is back on its port with no tasks', async () => {
    const id = await create(task(600));
    expect(await server.fault('sim-a', 'die')).toBe(1);
    await expect(fetch(`${base}${TES}/service-info`)).rejects.toThrow();
    await server.recover('sim-a');
    expect(server.url('sim-a')).toBe(base);
    expect((await call('GET', `${TES}/tasks/${id}`)).status).toBe(404);
  });

  it('applies faults through the control API and reports every site', async () => {
    const control = server.controlUrl as string;
    const post = (path: string, body?: unknown) =>
      fetch(`${control}${path}`, {
        method: 'POST',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await post('/sites/sim-a/fault', { mode: 'explode' })).status).toBe(400);
    expect((await post('/sites/nowhere/fault', { mode: 'die' })).status).toBe(404);
    expect((await post('/sites/sim-a/fault', { mode: 'refuse' })).status).toBe(200);
    const listed = (await (await fetch(`${control}/sites`)).json()) as {
      sites: { slug: string; fault: string }[];
    };
    expect(listed.sites.map((s) => [s.slug, s.fault])).toEqual([
      ['sim-a', 'refuse'],
      ['sim-b', null],
    ]);
    expect((await call('POST', `${TES}/tasks`, task(0))).status).toBe(422);
    expect((await post('/sites/sim-a/recover')).status).toBe(200);
    await create(task(0));
  });
});
