import { FakeTesSite, startFakeTesSite } from './fake-tes-site';

// The fake renders its answers without copying the stored task and takes ids from a pool of random bytes
// (for the dispatch bench's CPU): what goes on the wire must stay as the TES 1.1 views define it.
let site: FakeTesSite;

beforeAll(async () => {
  site = await startFakeTesSite({ stepDelayMs: 1 });
});
afterAll(async () => {
  await site?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${site.apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not reached in 5 s: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const TASK = {
  name: 'views',
  inputs: [{ path: '/in.txt', content: 'secret input' }],
  executors: [{ image: 'alpine', command: ['cat', '/in.txt'], stdout: '/out.txt' }],
  tags: { 'constellation.task': 'views' },
};

describe('fake TES site', () => {
  it('serves BASIC without input content, system logs, stdout and stderr, and FULL with all of them', async () => {
    const { id } = (await call('POST', '/tasks', TASK)) as { id: string };
    await until('the task is COMPLETE', () => site.task(id)?.state === 'COMPLETE');

    const full = await call('GET', `/tasks/${id}?view=FULL`);
    expect(full).toEqual(JSON.parse(JSON.stringify(site.task(id))));
    expect(full.inputs).toEqual([{ path: '/in.txt', content: 'secret input', type: 'FILE' }]);
    const fullLog = (full.logs as Array<Record<string, unknown>>)[0];
    expect(fullLog.system_logs).toEqual(['fake-worker-1 picked the task up']);
    expect((fullLog.logs as Array<Record<string, unknown>>)[0]).toMatchObject({
      stdout: 'secret input',
      stderr: '',
      exit_code: 0,
    });

    const basic = await call('GET', `/tasks/${id}?view=BASIC`);
    expect(basic.inputs).toEqual([{ path: '/in.txt', type: 'FILE' }]);
    const basicLog = (basic.logs as Array<Record<string, unknown>>)[0];
    expect(Object.keys(basicLog)).not.toContain('system_logs');
    const entry = (basicLog.logs as Array<Record<string, unknown>>)[0];
    expect(Object.keys(entry).sort()).toEqual(['end_time', 'exit_code', 'start_time']);
    // Leaving fields out of an answer leaves the stored task whole.
    expect(await call('GET', `/tasks/${id}?view=FULL`)).toEqual(full);

    expect(await call('GET', `/tasks/${id}?view=MINIMAL`)).toEqual({ id, state: 'COMPLETE' });
  });

  it('lists newest first, page by page, and gives each task its own 20-hex-digit id', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(((await call('POST', '/tasks', { ...TASK, name: `n${i}` })) as { id: string }).id);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{20}$/);

    const first = await call('GET', '/tasks?name_prefix=n&page_size=3');
    const second = await call(
      'GET',
      `/tasks?name_prefix=n&page_size=3&page_token=${String(first.next_page_token)}`,
    );
    const listed = [...(first.tasks as Array<{ id: string }>), ...(second.tasks as Array<{ id: string }>)];
    expect(listed.map((t) => t.id)).toEqual([...ids].reverse());
    expect(second.next_page_token).toBeUndefined();
  });

  it('ends a task at once when it is cancelled in the middle of a step, and it stays CANCELED', async () => {
    // timeScale 0.01: `sleep 50` takes 0.5 s at the site.
    const long = { executors: [{ image: 'alpine', command: ['sleep', '50'] }] };
    const { id } = (await call('POST', '/tasks', long)) as { id: string };
    await until('the task is RUNNING', () => site.task(id)?.state === 'RUNNING');
    await call('POST', `/tasks/${id}:cancel`);
    expect(site.task(id)?.state).toBe('CANCELED');
    await new Promise((r) => setTimeout(r, 700));
    const task = site.task(id);
    expect(task?.state).toBe('CANCELED');
    // The executor never finished: a run that went on after its pause would have logged it.
    expect(task?.logs?.[0].logs).toEqual([]);
    expect(task?.logs?.[0].system_logs).toEqual(['fake-worker-1 picked the task up', 'canceled by the user']);
  });
});
