import { EMPTY_SITE_FORM, errorsByField, fieldOf, toSiteDocument } from './site-form';

describe('register form ↔ site document', () => {
  it('builds the API document, leaving empty optional fields out', () => {
    const { document, errors } = toSiteDocument({
      ...EMPTY_SITE_FORM,
      slug: ' de-test ',
      display_name: 'Test',
      country: 'de',
      latitude: '47,99',
      longitude: '7.84',
      url: 'https://pulsar.example.org/',
      max_concurrent_tasks: '12',
      cores: '64',
      token: 'secret',
      username: 'ignored for pulsar-rest',
    });
    expect(errors).toEqual([]);
    expect(document).toEqual({
      slug: 'de-test',
      display_name: 'Test',
      country: 'DE',
      latitude: 47.99,
      longitude: 7.84,
      kind: 'pulsar-rest',
      url: 'https://pulsar.example.org/',
      runtimes: ['docker'],
      capacity: { max_concurrent_tasks: 12, totals: { cores: 64 } },
      credentials: { token: 'secret' },
    });
  });

  it('takes a user and password, not a token, for Pulsar over AMQP', () => {
    const { document } = toSiteDocument({
      ...EMPTY_SITE_FORM,
      kind: 'pulsar-amqp',
      token: 'stale',
      username: 'u',
      password: 'p',
    });
    expect(document.credentials).toEqual({ username: 'u', password: 'p' });
  });

  it('reports a number field holding no number under its API path', () => {
    const { errors } = toSiteDocument({ ...EMPTY_SITE_FORM, latitude: 'north', cores: '8 cores' });
    expect(errors).toEqual([
      { path: 'latitude', reason: 'must be a number' },
      { path: 'capacity.totals.cores', reason: 'must be a number' },
    ]);
  });

  it.each([
    ['slug', 'slug'],
    ['capacity.max_concurrent_tasks', 'max_concurrent_tasks'],
    ['capacity.per_task.memory_gib', 'per_task_memory_gib'],
    ['credentials.password', 'password'],
    ['runtimes[1]', 'runtimes'],
    ['capacity.totals.gpu_type', null],
  ])('shows the API error at %s beside field %s', (path, field) => {
    expect(fieldOf(path)).toBe(field);
  });

  it('groups errors by field and keeps the ones no field shows for the summary', () => {
    expect(
      errorsByField([
        { path: 'country', reason: 'must be an ISO 3166-1 alpha-2 code' },
        { path: 'country', reason: 'is required' },
        { path: 'tags', reason: 'must be an object' },
      ]),
    ).toEqual({
      country: 'must be an ISO 3166-1 alpha-2 code; is required',
      '': 'tags: must be an object',
    });
  });
});
