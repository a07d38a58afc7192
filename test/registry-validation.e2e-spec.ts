import request from 'supertest';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

type Doc = Record<string, unknown>;
const without = (key: string): Doc => {
  const d = siteDocument();
  delete d[key];
  return d;
};
const cap = (capacity: Doc): Doc => siteDocument({ capacity });

interface Case {
  name: string;
  doc: unknown;
  errors: { path: string; reason: string }[];
}

const SITE_CASES: Case[] = [
  { name: 'not an object', doc: [1, 2], errors: [{ path: '', reason: 'must be an object' }] },
  {
    name: 'unknown field',
    doc: siteDocument({ colour: 'red' }),
    errors: [{ path: 'colour', reason: 'is not a known field' }],
  },
  { name: 'missing slug', doc: without('slug'), errors: [{ path: 'slug', reason: 'is required' }] },
  {
    name: 'slug with capitals',
    doc: siteDocument({ slug: 'My_Site' }),
    errors: [
      {
        path: 'slug',
        reason: 'must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit',
      },
    ],
  },
  {
    name: 'slug ending in -',
    doc: siteDocument({ slug: 'site-' }),
    errors: [
      {
        path: 'slug',
        reason: 'must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit',
      },
    ],
  },
  {
    name: 'missing display_name',
    doc: without('display_name'),
    errors: [{ path: 'display_name', reason: 'is required' }],
  },
  {
    name: 'empty display_name',
    doc: siteDocument({ display_name: '' }),
    errors: [{ path: 'display_name', reason: 'must not be empty' }],
  },
  {
    name: 'display_name with a NUL character (PostgreSQL cannot store it)',
    doc: siteDocument({ display_name: 'Bari\u0000' }),
    errors: [{ path: 'display_name', reason: 'must not contain NUL characters' }],
  },
  {
    name: 'display_name too long',
    doc: siteDocument({ display_name: 'x'.repeat(201) }),
    errors: [{ path: 'display_name', reason: 'must be at most 200 characters' }],
  },
  {
    name: 'display_name with a newline',
    doc: siteDocument({ display_name: 'a\nb' }),
    errors: [{ path: 'display_name', reason: 'must not contain control characters' }],
  },
  { name: 'missing country', doc: without('country'), errors: [{ path: 'country', reason: 'is required' }] },
  {
    name: 'country not ISO',
    doc: siteDocument({ country: 'XX' }),
    errors: [
      { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE' },
    ],
  },
  {
    name: 'country in lower case',
    doc: siteDocument({ country: 'de' }),
    errors: [
      { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE' },
    ],
  },
  {
    name: 'country as alpha-3',
    doc: siteDocument({ country: 'DEU' }),
    errors: [
      { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE' },
    ],
  },
  {
    name: 'country as a number',
    doc: siteDocument({ country: 49 }),
    errors: [{ path: 'country', reason: 'must be a string' }],
  },
  {
    name: 'latitude out of range',
    doc: siteDocument({ latitude: 91 }),
    errors: [{ path: 'latitude', reason: 'must be a number from -90 to 90' }],
  },
  {
    name: 'longitude out of range',
    doc: siteDocument({ longitude: -180.5 }),
    errors: [{ path: 'longitude', reason: 'must be a number from -180 to 180' }],
  },
  {
    name: 'latitude as a string',
    doc: siteDocument({ latitude: '48.0' }),
    errors: [{ path: 'latitude', reason: 'must be a number from -90 to 90' }],
  },
  {
    name: 'latitude without longitude',
    doc: siteDocument({ longitude: null }),
    errors: [{ path: 'longitude', reason: 'is required when the other coordinate is given' }],
  },
  { name: 'missing kind', doc: without('kind'), errors: [{ path: 'kind', reason: 'is required' }] },
  {
    name: 'unknown kind',
    doc: siteDocument({ kind: 'slurm' }),
    errors: [{ path: 'kind', reason: 'must be one of tes, pulsar-rest, pulsar-amqp' }],
  },
  {
    name: 'tes without url',
    doc: siteDocument({ kind: 'tes', url: null }),
    errors: [{ path: 'url', reason: 'is required for a tes site (an http or https URL)' }],
  },
  {
    name: 'pulsar-rest with an amqp url',
    doc: siteDocument({ url: 'amqp://mq.example.org/pulsar' }),
    errors: [{ path: 'url', reason: 'must use http or https for a pulsar-rest site' }],
  },
  {
    name: 'pulsar-amqp with an https url',
    doc: siteDocument({ kind: 'pulsar-amqp', url: 'https://pulsar.example.org/' }),
    errors: [{ path: 'url', reason: 'must use amqp or amqps for a pulsar-amqp site' }],
  },
  {
    name: 'pulsar-amqp without a vhost',
    doc: siteDocument({ kind: 'pulsar-amqp', url: 'amqps://mq.example.org' }),
    errors: [
      {
        path: 'url',
        reason: 'must name the virtual host, e.g. amqps://mq.example.org/pulsar (%2F for the default vhost)',
      },
    ],
  },
  {
    name: 'relative url',
    doc: siteDocument({ url: '/pulsar' }),
    errors: [{ path: 'url', reason: 'must be an absolute URL' }],
  },
  {
    name: 'url with credentials',
    doc: siteDocument({ url: 'https://user:secret@pulsar.example.org/' }),
    errors: [{ path: 'url', reason: 'must not contain a user name or password; send them in credentials' }],
  },
  {
    name: 'pulsar-rest url with a query string (a token belongs in credentials)',
    doc: siteDocument({ url: 'https://pulsar.example.org/?private_token=abc123' }),
    errors: [
      {
        path: 'url',
        reason:
          'must not have a query string; send tokens (such as private_token) in credentials, which are encrypted and never shown',
      },
    ],
  },
  {
    name: 'tes url with a query string',
    doc: siteDocument({ kind: 'tes', url: 'https://tes.example.org/ga4gh/tes?token=abc' }),
    errors: [
      {
        path: 'url',
        reason:
          'must not have a query string; send tokens (such as private_token) in credentials, which are encrypted and never shown',
      },
    ],
  },
  {
    name: 'pulsar_manager on a tes site',
    doc: siteDocument({ kind: 'tes', pulsar_manager: 'galaxy' }),
    errors: [{ path: 'pulsar_manager', reason: 'is only for pulsar-rest and pulsar-amqp sites' }],
  },
  {
    name: 'pulsar_manager with a slash',
    doc: siteDocument({ pulsar_manager: 'a/b' }),
    errors: [{ path: 'pulsar_manager', reason: 'must be 1 to 64 letters, digits, - or _' }],
  },
  {
    name: 'credentials with token and password',
    doc: siteDocument({ credentials: { token: 't', username: 'u', password: 'p' } }),
    errors: [{ path: 'credentials', reason: 'must hold either token, or username and password, not both' }],
  },
  {
    name: 'credentials with a username only',
    doc: siteDocument({ credentials: { username: 'u' } }),
    errors: [{ path: 'credentials.password', reason: 'is required with username and password' }],
  },
  {
    name: 'empty credentials',
    doc: siteDocument({ credentials: {} }),
    errors: [{ path: 'credentials', reason: 'must hold token, or username and password' }],
  },
  {
    name: 'credentials with an unknown key',
    doc: siteDocument({ credentials: { token: 't', api_key: 'k' } }),
    errors: [{ path: 'credentials.api_key', reason: 'is not a known field' }],
  },
  {
    name: 'max_concurrent_tasks of 0',
    doc: cap({ max_concurrent_tasks: 0 }),
    errors: [{ path: 'capacity.max_concurrent_tasks', reason: 'must be an integer from 1 to 1000000' }],
  },
  {
    name: 'max_concurrent_tasks fractional',
    doc: cap({ max_concurrent_tasks: 2.5 }),
    errors: [{ path: 'capacity.max_concurrent_tasks', reason: 'must be an integer from 1 to 1000000' }],
  },
  {
    name: 'negative total cores',
    doc: cap({ totals: { cores: -4 } }),
    errors: [{ path: 'capacity.totals.cores', reason: 'must be an integer from 1 to 10000000' }],
  },
  {
    name: 'zero memory per task',
    doc: cap({ per_task: { memory_gib: 0 } }),
    errors: [
      {
        path: 'capacity.per_task.memory_gib',
        reason: 'must be a number greater than 0 and at most 1000000000',
      },
    ],
  },
  {
    name: 'per-task cores above the total',
    doc: cap({ totals: { cores: 16 }, per_task: { cores: 32 } }),
    errors: [{ path: 'capacity.per_task.cores', reason: 'must not exceed capacity.totals.cores (16)' }],
  },
  {
    name: 'gpu_type without gpus',
    doc: cap({ totals: { gpu_type: 'A100' } }),
    errors: [
      {
        path: 'capacity.totals.gpu_type',
        reason: 'needs capacity.totals.gpus or capacity.per_task.gpus above 0',
      },
    ],
  },
  {
    name: 'unknown capacity field',
    doc: cap({ max_concurrent_tasks: 5, max_jobs: 3 }),
    errors: [{ path: 'capacity.max_jobs', reason: 'is not a known field' }],
  },
  {
    name: 'unknown runtime',
    doc: siteDocument({ runtimes: ['docker', 'podman'] }),
    errors: [{ path: 'runtimes[1]', reason: 'must be one of docker, singularity, apptainer, none' }],
  },
  {
    name: 'empty runtimes',
    doc: siteDocument({ runtimes: [] }),
    errors: [{ path: 'runtimes', reason: 'must not be empty' }],
  },
  {
    name: 'repeated runtime',
    doc: siteDocument({ runtimes: ['docker', 'docker'] }),
    errors: [{ path: 'runtimes[1]', reason: 'is listed twice' }],
  },
  {
    name: 'run_images_on_host not a boolean',
    doc: siteDocument({ runtimes: ['none'], run_images_on_host: 'yes' }),
    errors: [{ path: 'run_images_on_host', reason: 'must be true or false' }],
  },
  {
    name: 'run_images_on_host without runtime none',
    doc: siteDocument({ runtimes: ['docker'], run_images_on_host: true }),
    errors: [{ path: 'run_images_on_host', reason: "only applies to a site whose runtimes include 'none'" }],
  },
  {
    name: 'relative image cache folder',
    doc: siteDocument({ image_cache_dir: 'cache/images' }),
    errors: [
      { path: 'image_cache_dir', reason: "must be an absolute path on the site's hosts, without ':' or ','" },
    ],
  },
  {
    name: 'CVMFS image root without singularity or apptainer',
    doc: siteDocument({ runtimes: ['docker'], cvmfs_image_root: '/cvmfs/singularity.galaxyproject.org/all' }),
    errors: [
      {
        path: 'cvmfs_image_root',
        reason: 'is used by the singularity and apptainer runtimes only; list one in runtimes',
      },
    ],
  },
  {
    name: 'local data store id not a UUID',
    doc: siteDocument({ local_data_store_ids: ['usegalaxy.eu'] }),
    errors: [{ path: 'local_data_store_ids[0]', reason: 'must be a data store id (UUID)' }],
  },
  {
    name: 'tag value not a string',
    doc: siteDocument({ tags: { tier: 1 } }),
    errors: [{ path: 'tags.tier', reason: 'must be a string' }],
  },
  {
    name: 'tags as a list',
    doc: siteDocument({ tags: ['gpu'] }),
    errors: [{ path: 'tags', reason: 'must be an object of strings' }],
  },
  {
    name: 'several problems at once',
    doc: siteDocument({ slug: '', country: 'Germany', latitude: 100, kind: 'tes', url: 'ftp://x/' }),
    errors: [
      {
        path: 'slug',
        reason: 'must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit',
      },
      { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE' },
      { path: 'latitude', reason: 'must be a number from -90 to 90' },
    ],
  },
];

const DATA_STORE_CASES: Case[] = [
  {
    name: 'data store without name and prefixes',
    doc: { country: 'DE' },
    errors: [
      { path: 'name', reason: 'is required' },
      { path: 'url_prefixes', reason: 'is required' },
    ],
  },
  {
    name: 'data store with a bare host as prefix',
    doc: { name: 'x', url_prefixes: ['usegalaxy.eu/api'], country: 'DE' },
    errors: [
      {
        path: 'url_prefixes[0]',
        reason: 'must be an absolute URL prefix such as https://host/path/ or s3://bucket/',
      },
    ],
  },
  {
    name: 'data store with no prefixes',
    doc: { name: 'x', url_prefixes: [], country: 'DE' },
    errors: [{ path: 'url_prefixes', reason: 'must not be empty' }],
  },
  {
    name: 'data store with a bad country and half coordinates',
    doc: { name: 'x', url_prefixes: ['s3://b/'], country: 'EU', latitude: 50 },
    errors: [
      { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE' },
    ],
  },
  {
    name: 'data store with only a latitude',
    doc: { name: 'x', url_prefixes: ['s3://b/'], country: 'NL', latitude: 52.1 },
    errors: [{ path: 'longitude', reason: 'is required when the other coordinate is given' }],
  },
];

describe('registry validation: every bad field gets a precise 400', () => {
  let t: TestApp;
  let provider: TestPrincipal;
  let admin: TestPrincipal;

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    provider = await createPrincipal(t, 'provider');
    admin = await createPrincipal(t, 'admin');
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(SITE_CASES)('site: $name', async ({ doc, errors }) => {
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(doc as object);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toEqual(errors);
    expect(res.body.request_id).toBe(res.headers['x-request-id']);
  });

  it.each(DATA_STORE_CASES)('$name', async ({ doc, errors }) => {
    const res = await request(t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', admin.bearer)
      .send(doc as object);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(errors);
  });

  it.each([
    {
      query: 'admin_state=paused',
      errors: [{ path: 'admin_state', reason: 'must be one of pending, active, draining, disabled' }],
    },
    { query: 'health=down', errors: [{ path: 'health', reason: 'must be one of unknown, up, offline' }] },
    { query: 'owner=alice', errors: [{ path: 'owner', reason: 'must be a UUID' }] },
    { query: 'page_size=2048', errors: [{ path: 'page_size', reason: 'must be an integer from 1 to 2047' }] },
    {
      query: 'page_token=bogus',
      errors: [{ path: 'page_token', reason: 'is not a page token this server issued' }],
    },
    { query: 'contry=DE', errors: [{ path: 'contry', reason: 'is not a known query parameter' }] },
  ])('list query $query', async ({ query, errors }) => {
    const res = await request(t.url)
      .get(`/api/v1/sites?${query}`)
      .set('Authorization', provider.bearer)
      .expect(400);
    expect(res.body.errors).toEqual(errors);
  });

  it('checks a PATCH against the stored site: slug fixed, kind change needs a matching url', async () => {
    const created = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    const patch = async (doc: Doc) =>
      request(t.url)
        .patch(`/api/v1/sites/${created.body.id}`)
        .set('Authorization', provider.bearer)
        .send(doc);
    expect((await patch({ slug: 'other' })).body.errors).toEqual([
      { path: 'slug', reason: 'cannot be changed (tasks pin sites by slug); register a new site instead' },
    ]);
    expect((await patch({ kind: 'pulsar-amqp' })).body.errors).toEqual([
      { path: 'url', reason: 'must use amqp or amqps for a pulsar-amqp site' },
    ]);
    expect((await patch({ capacity: { per_task: { cores: 512 } } })).body.errors).toEqual([
      { path: 'capacity.per_task.cores', reason: 'must not exceed capacity.totals.cores (256)' },
    ]);
    const ok = await patch({ kind: 'pulsar-amqp', url: null });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ kind: 'pulsar-amqp', url: null, pulsar_manager: 'constellation' });
    const action = await request(t.url)
      .post(`/api/v1/sites/${created.body.id}/disable`)
      .set('Authorization', provider.bearer)
      .send({ reason: 42 })
      .expect(400);
    expect(action.body.errors).toEqual([{ path: 'reason', reason: 'must be a string' }]);
  });

  it('answers 404, not 500, for a site reference PostgreSQL cannot hold (NUL)', async () => {
    for (const ref of ['a%00b', '%00']) {
      const res = await request(t.url).get(`/api/v1/sites/${ref}`).set('Authorization', admin.bearer);
      expect([ref, res.status]).toEqual([ref, 404]);
    }
  });
});
