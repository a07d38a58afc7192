import { DataSource } from 'typeorm';
import { createPrincipal, TestPrincipal } from './support/principals';
import { MINIMAL_TASK, tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

const ex = (over: Record<string, unknown> = {}) => ({ image: 'alpine', command: ['true'], ...over });
const withExec = (over: Record<string, unknown>) => ({ executors: [ex()], ...over });

describe('TES CreateTask validation', () => {
  let t: TestApp;
  let alice: TestPrincipal;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
  });

  // Each document is wrong in one way; the 400 must name exactly that field and why.
  it.each<[string, unknown, Array<{ path: string; reason: string }>]>([
    [
      'body is an array',
      [MINIMAL_TASK],
      [{ path: '', reason: 'must be a JSON object (a tesTask), not an array' }],
    ],
    ['no executors', { name: 'x' }, [{ path: 'executors', reason: 'is required' }]],
    ['executors null', { executors: null }, [{ path: 'executors', reason: 'is required' }]],
    [
      'executors empty',
      { executors: [] },
      [{ path: 'executors', reason: 'must contain at least one executor' }],
    ],
    [
      'executors not an array',
      { executors: {} },
      [{ path: 'executors', reason: 'must be an array, not an object' }],
    ],
    [
      'executor not an object',
      { executors: ['alpine'] },
      [{ path: 'executors[0]', reason: 'must be an object, not string "alpine"' }],
    ],
    [
      'executor without image',
      { executors: [{ command: ['ls'] }] },
      [{ path: 'executors[0].image', reason: 'is required' }],
    ],
    [
      'executor with empty image',
      { executors: [ex({ image: ' ' })] },
      [{ path: 'executors[0].image', reason: 'must not be empty' }],
    ],
    [
      'executor image a number',
      { executors: [ex({ image: 7 })] },
      [{ path: 'executors[0].image', reason: 'must be a string, not number 7' }],
    ],
    [
      'executor without command',
      { executors: [{ image: 'alpine' }] },
      [{ path: 'executors[0].command', reason: 'is required' }],
    ],
    [
      'command empty',
      { executors: [ex({ command: [] })] },
      [{ path: 'executors[0].command', reason: 'must not be empty (the first element is the program)' }],
    ],
    [
      'command a string',
      { executors: [ex({ command: 'ls -l' })] },
      [{ path: 'executors[0].command', reason: 'must be an array of strings, not string "ls -l"' }],
    ],
    [
      'command with a number',
      { executors: [ex({ command: ['sleep', 5] })] },
      [{ path: 'executors[0].command[1]', reason: 'must be a string, not number 5' }],
    ],
    [
      'second executor broken',
      { executors: [ex(), ex({ image: null })] },
      [{ path: 'executors[1].image', reason: 'is required' }],
    ],
    [
      'relative stdout',
      { executors: [ex({ stdout: 'out.txt' })] },
      [{ path: 'executors[0].stdout', reason: 'must be an absolute path (start with /)' }],
    ],
    [
      'relative stdin',
      { executors: [ex({ stdin: 'in.txt' })] },
      [{ path: 'executors[0].stdin', reason: 'must be an absolute path (start with /)' }],
    ],
    [
      'env value not a string',
      { executors: [ex({ env: { N: 1 } })] },
      [{ path: 'executors[0].env.N', reason: 'must be a string, not number 1' }],
    ],
    [
      'ignore_error not boolean',
      { executors: [ex({ ignore_error: 'yes' })] },
      [{ path: 'executors[0].ignore_error', reason: 'must be true or false, not string "yes"' }],
    ],
    [
      'input without path',
      withExec({ inputs: [{ url: 's3://b/k' }] }),
      [{ path: 'inputs[0].path', reason: 'is required' }],
    ],
    [
      'input relative path',
      withExec({ inputs: [{ url: 's3://b/k', path: 'data/k' }] }),
      [{ path: 'inputs[0].path', reason: 'must be an absolute path (start with /)' }],
    ],
    [
      'input path with ..',
      withExec({ inputs: [{ url: 's3://b/k', path: '/data/../etc/passwd' }] }),
      [{ path: 'inputs[0].path', reason: 'must not contain .. segments' }],
    ],
    [
      'input without url or content',
      withExec({ inputs: [{ path: '/data/k' }] }),
      [{ path: 'inputs[0].url', reason: 'is required' }],
    ],
    [
      'input with empty content and no url',
      withExec({ inputs: [{ path: '/data/k', content: '' }] }),
      [{ path: 'inputs[0].url', reason: 'is required' }],
    ],
    [
      'input with unknown scheme',
      withExec({ inputs: [{ path: '/d/k', url: 'gopher://h/k' }] }),
      [
        {
          path: 'inputs[0].url',
          reason:
            'uses the scheme gopher, which no site can handle (supported: http, https, ftp, ftps, s3, gs, az, file, drs, sftp)',
        },
      ],
    ],
    [
      'input url not a URL',
      withExec({ inputs: [{ path: '/d/k', url: 'not a url' }] }),
      [
        {
          path: 'inputs[0].url',
          reason: 'must be a URL such as https://host/file or s3://bucket/key, or an absolute path',
        },
      ],
    ],
    [
      'input bad type',
      withExec({ inputs: [{ path: '/d/k', url: 's3://b/k', type: 'LINK' }] }),
      [{ path: 'inputs[0].type', reason: 'must be FILE or DIRECTORY' }],
    ],
    [
      'directory input with content',
      withExec({ inputs: [{ path: '/d/k', content: 'x', type: 'DIRECTORY' }] }),
      [
        {
          path: 'inputs[0].type',
          reason: 'must be FILE when content is given (content is the text of one file)',
        },
      ],
    ],
    [
      'streamable not boolean',
      withExec({ inputs: [{ path: '/d/k', url: 's3://b/k', streamable: 1 }] }),
      [{ path: 'inputs[0].streamable', reason: 'must be true or false, not number 1' }],
    ],
    [
      'inputs not an array',
      withExec({ inputs: { path: '/d' } }),
      [{ path: 'inputs', reason: 'must be an array, not an object' }],
    ],
    [
      'output without url',
      withExec({ outputs: [{ path: '/d/out' }] }),
      [{ path: 'outputs[0].url', reason: 'is required' }],
    ],
    [
      'output without path',
      withExec({ outputs: [{ url: 's3://b/out' }] }),
      [{ path: 'outputs[0].path', reason: 'is required' }],
    ],
    [
      'output with drs scheme',
      withExec({ outputs: [{ path: '/d/o', url: 'drs://h/o' }] }),
      [
        {
          path: 'outputs[0].url',
          reason:
            'uses the scheme drs, which no site can handle (supported: http, https, ftp, ftps, s3, gs, az, file, sftp)',
        },
      ],
    ],
    [
      'wildcard output without path_prefix',
      withExec({ outputs: [{ path: '/d/*.bam', url: 's3://b/out/' }] }),
      [{ path: 'outputs[0].path_prefix', reason: 'is required when path contains wildcards' }],
    ],
    [
      'wildcard output with foreign prefix',
      withExec({ outputs: [{ path: '/d/*.bam', url: 's3://b/', path_prefix: '/x' }] }),
      [{ path: 'outputs[0].path_prefix', reason: 'must be an absolute path that path starts with' }],
    ],
    [
      'cpu_cores zero',
      withExec({ resources: { cpu_cores: 0 } }),
      [{ path: 'resources.cpu_cores', reason: 'must be greater than 0' }],
    ],
    [
      'cpu_cores fractional',
      withExec({ resources: { cpu_cores: 1.5 } }),
      [{ path: 'resources.cpu_cores', reason: 'must be a whole number' }],
    ],
    [
      'ram_gb a string',
      withExec({ resources: { ram_gb: '8' } }),
      [{ path: 'resources.ram_gb', reason: 'must be a number, not string "8"' }],
    ],
    [
      'disk_gb negative',
      withExec({ resources: { disk_gb: -1 } }),
      [{ path: 'resources.disk_gb', reason: 'must not be negative' }],
    ],
    [
      'preemptible a string',
      withExec({ resources: { preemptible: 'true' } }),
      [{ path: 'resources.preemptible', reason: 'must be true or false, not string "true"' }],
    ],
    [
      'zones a string',
      withExec({ resources: { zones: 'DE' } }),
      [{ path: 'resources.zones', reason: 'must be an array, not string "DE"' }],
    ],
    [
      'zone empty',
      withExec({ resources: { zones: [''] } }),
      [{ path: 'resources.zones[0]', reason: 'must be a non-empty string of at most 255 characters' }],
    ],
    [
      'resources an array',
      withExec({ resources: [] }),
      [{ path: 'resources', reason: 'must be an object, not an array' }],
    ],
    [
      'strict unknown backend parameter',
      withExec({
        resources: { backend_parameters: { INVALID: 'PARAMETER' }, backend_parameters_strict: true },
      }),
      [
        {
          path: 'resources.backend_parameters.INVALID',
          reason: 'is not supported (backend_parameters_strict is true)',
        },
      ],
    ],
    [
      'backend parameter bad value',
      withExec({ resources: { backend_parameters: { 'constellation.gpus': 'two' } } }),
      [
        {
          path: 'resources.backend_parameters.constellation.gpus',
          reason: 'must be a whole number of GPUs from 0 to 999',
        },
      ],
    ],
    [
      'backend parameter value not string',
      withExec({ resources: { backend_parameters: { VmSize: 4 } } }),
      [{ path: 'resources.backend_parameters.VmSize', reason: 'must be a string, not number 4' }],
    ],
    [
      'tags an array',
      withExec({ tags: ['a'] }),
      [{ path: 'tags', reason: 'must be an object of string values, not an array' }],
    ],
    [
      'tag value a number',
      withExec({ tags: { run: 1 } }),
      [{ path: 'tags.run', reason: 'must be a string, not number 1' }],
    ],
    [
      'volume relative',
      withExec({ volumes: ['vol/A'] }),
      [{ path: 'volumes[0]', reason: 'must be an absolute path (start with /)' }],
    ],
    [
      'volume not a string',
      withExec({ volumes: [1] }),
      [{ path: 'volumes[0]', reason: 'must be a string, not number 1' }],
    ],
    [
      'name not a string',
      withExec({ name: 42 }),
      [{ path: 'name', reason: 'must be a string, not number 42' }],
    ],
    [
      'name too long',
      withExec({ name: 'n'.repeat(1025) }),
      [{ path: 'name', reason: 'must be at most 1024 characters' }],
    ],
    [
      'description an object',
      withExec({ description: {} }),
      [{ path: 'description', reason: 'must be a string, not an object' }],
    ],
    [
      'name with a NUL character (PostgreSQL cannot store it)',
      withExec({ name: 'a\u0000b' }),
      [{ path: 'name', reason: 'must not contain NUL characters' }],
    ],
    [
      'command argument with an unpaired surrogate',
      { executors: [ex({ command: ['echo', '\ud800'] })] },
      [{ path: 'executors[0].command[1]', reason: 'must be valid Unicode (no unpaired surrogates)' }],
    ],
    [
      'tag value with a NUL character',
      withExec({ tags: { run: 'x\u0000' } }),
      [{ path: 'tags.run', reason: 'must not contain NUL characters' }],
    ],
    [
      'input content with a NUL character',
      withExec({ inputs: [{ path: '/in', content: 'bin\u0000ary' }] }),
      [{ path: 'inputs[0].content', reason: 'must not contain NUL characters' }],
    ],
  ])('%s gives 400 naming the field', async (_name, body, errors) => {
    const before = await t.app.get(DataSource).query('SELECT count(*)::int AS n FROM task');
    const res = await tes(t.url, alice).create(body).expect(400);
    expect(res.body).toEqual({
      code: 'VALIDATION_FAILED',
      message: `invalid request: ${errors.map((e) => `${e.path || '(body)'} ${e.reason}`).join('; ')}`,
      errors,
      request_id: res.headers['x-request-id'],
    });
    const after = await t.app.get(DataSource).query('SELECT count(*)::int AS n FROM task');
    expect(after[0].n).toBe(before[0].n);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await tes(t.url, alice)
      .create(undefined)
      .set('Content-Type', 'text/plain')
      .send('hello')
      .expect(400);
    expect(res.body.errors).toEqual([
      { path: '', reason: 'is missing: send the tesTask as JSON (Content-Type: application/json)' },
    ]);
  });

  it('reports every problem of one document at once', async () => {
    const res = await tes(t.url, alice)
      .create({ executors: [{ command: 'x' }], inputs: [{ path: 'rel' }], resources: { cpu_cores: -2 } })
      .expect(400);
    expect(res.body.errors).toEqual([
      { path: 'executors[0].image', reason: 'is required' },
      { path: 'executors[0].command', reason: 'must be an array of strings, not string "x"' },
      { path: 'inputs[0].path', reason: 'must be an absolute path (start with /)' },
      { path: 'inputs[0].url', reason: 'is required' },
      { path: 'resources.cpu_cores', reason: 'must be greater than 0' },
    ]);
  });
});
