import request from 'supertest';
import { createPrincipal, TestPrincipal } from './support/principals';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

type Schema = {
  required?: string[];
  properties: Record<string, Record<string, unknown>>;
};

// The document classes are the one declaration of each request body: the OpenAPI document is derived from
// the same decorators the ValidationPipe runs, so a rule and its published schema cannot drift apart.
describe('request documents: one declaration for validation and the OpenAPI schema', () => {
  let t: TestApp;
  let provider: TestPrincipal;
  let doc: {
    components: { schemas: Record<string, Schema> };
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
  };

  beforeAll(async () => {
    t = await startTestApp({ CONSTELLATION_PROBE_SECONDS: '0' });
    provider = await createPrincipal(t, 'provider');
    doc = (await request(t.url).get('/openapi.json').expect(200)).body;
  });
  afterAll(async () => {
    await t?.close();
  });

  const bodyOf = (path: string, method: string) =>
    doc.paths[path][method].requestBody?.content['application/json'].schema;

  it('publishes the site rules the validator enforces', () => {
    const site = doc.components.schemas.SiteDocumentDto;
    expect([...(site.required ?? [])].sort()).toEqual(['country', 'display_name', 'kind', 'slug']);
    expect(site.properties.display_name).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(site.properties.latitude).toMatchObject({
      type: 'number',
      minimum: -90,
      maximum: 90,
      nullable: true,
    });
    expect(site.properties.runtimes).toMatchObject({
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: ['docker', 'singularity', 'apptainer', 'none'] },
    });
    const perTask = doc.components.schemas.SitePerTaskDto;
    expect(perTask.properties.cores).toMatchObject({ type: 'integer', minimum: 1, maximum: 1_000_000 });
    expect(perTask.properties.memory_gib).toMatchObject({ minimum: 0, exclusiveMinimum: true });
    expect(doc.components.schemas.SiteCapacityDto.properties.per_task).toMatchObject({
      nullable: true,
    });
  });

  it('describes PATCH with its own schema, in which nothing is required', () => {
    expect(bodyOf('/api/v1/sites', 'post')).toEqual({ $ref: '#/components/schemas/SiteDocumentDto' });
    expect(bodyOf('/api/v1/sites/{ref}', 'patch')).toEqual({ $ref: '#/components/schemas/SiteUpdateDto' });
    expect(doc.components.schemas.SiteUpdateDto.required ?? []).toEqual([]);
    expect(Object.keys(doc.components.schemas.SiteUpdateDto.properties).sort()).toEqual(
      Object.keys(doc.components.schemas.SiteDocumentDto.properties).sort(),
    );
  });

  it('describes data stores the same way: required on POST, nothing required on PATCH', async () => {
    expect(bodyOf('/api/v1/data-stores', 'post')).toEqual({
      $ref: '#/components/schemas/DataStoreDocumentDto',
    });
    expect(bodyOf('/api/v1/data-stores/{id}', 'patch')).toEqual({
      $ref: '#/components/schemas/DataStoreUpdateDto',
    });
    const store = doc.components.schemas.DataStoreDocumentDto;
    expect([...(store.required ?? [])].sort()).toEqual(['country', 'name', 'url_prefixes']);
    expect(store.properties.url_prefixes).toMatchObject({ type: 'array', minItems: 1, maxItems: 64 });
    expect(doc.components.schemas.DataStoreUpdateDto.required ?? []).toEqual([]);

    const admin = await createPrincipal(t, 'admin');
    const created = await request(t.url)
      .post('/api/v1/data-stores')
      .set('Authorization', admin.bearer)
      .send({ name: 'eu', url_prefixes: ['s3://eu/'], country: 'DE', latitude: 48, longitude: 7.8 })
      .expect(201);
    const patch = (body: object) =>
      request(t.url)
        .patch(`/api/v1/data-stores/${created.body.id}`)
        .set('Authorization', admin.bearer)
        .send(body);
    expect((await patch({ name: null, url_prefixes: null }).expect(400)).body.errors).toEqual([
      { path: 'name', reason: 'is required' },
      { path: 'url_prefixes', reason: 'is required' },
    ]);
    const cleared = await patch({ latitude: null, longitude: null }).expect(200);
    expect(cleared.body).toMatchObject({
      name: 'eu',
      url_prefixes: ['s3://eu/'],
      latitude: null,
      longitude: null,
    });
  });

  it('describes principals and token requests from the classes that validate them', async () => {
    expect(bodyOf('/api/v1/principals', 'post')).toEqual({ $ref: '#/components/schemas/NewPrincipalDto' });
    expect(bodyOf('/api/v1/principals/{ref}', 'patch')).toEqual({
      $ref: '#/components/schemas/PrincipalUpdateDto',
    });
    const created = doc.components.schemas.NewPrincipalDto;
    expect([...(created.required ?? [])].sort()).toEqual(['name', 'role']);
    expect(created.properties.share_weight).toMatchObject({
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 1e6,
    });
    expect(created.properties.token_description).toMatchObject({ type: 'string', maxLength: 200 });
    expect(doc.components.schemas.PrincipalUpdateDto.properties.issue_token).toBeUndefined();

    const admin = await createPrincipal(t, 'admin');
    const p = await request(t.url)
      .post('/api/v1/principals')
      .set('Authorization', admin.bearer)
      .send({ name: `doc-${Date.now()}`, role: 'submitter', issue_token: false })
      .expect(201);
    expect(p.body.token).toBeNull();
    const patch = (body: object) =>
      request(t.url)
        .patch(`/api/v1/principals/${p.body.principal.id}`)
        .set('Authorization', admin.bearer)
        .send(body);
    expect(
      (await patch({ role: null, share_weight: null, issue_token: true }).expect(400)).body.errors,
    ).toEqual([
      { path: 'issue_token', reason: 'is not a known field' },
      { path: 'role', reason: 'is required' },
      { path: 'share_weight', reason: 'must be a number greater than 0 and at most 1000000' },
    ]);
    const issue = (body?: unknown) => {
      const r = request(t.url)
        .post(`/api/v1/principals/${p.body.principal.id}/tokens`)
        .set('Authorization', admin.bearer);
      return body === undefined ? r : r.send(body as object);
    };
    expect((await issue({ description: 'a\nb' }).expect(400)).body.errors).toEqual([
      { path: 'description', reason: 'must not contain control characters' },
    ]);
    expect((await issue().expect(201)).body.description).toBe('issued by an admin');
  });

  it('keeps PATCH semantics: absent keeps, null clears, null on a required field is a 400', async () => {
    const created = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    const patch = (body: unknown) =>
      request(t.url)
        .patch(`/api/v1/sites/${created.body.id}`)
        .set('Authorization', provider.bearer)
        .send(body as object);
    const kept = await patch({ display_name: 'Renamed' }).expect(200);
    expect(kept.body).toMatchObject({ display_name: 'Renamed', latitude: 47.99, has_credentials: true });
    const cleared = await patch({ latitude: null, longitude: null, credentials: null }).expect(200);
    expect(cleared.body).toMatchObject({ latitude: null, longitude: null, has_credentials: false });
    expect((await patch({ display_name: null, kind: null }).expect(400)).body.errors).toEqual([
      { path: 'display_name', reason: 'is required' },
      { path: 'kind', reason: 'is required' },
    ]);
    expect((await patch({ capacity: null }).expect(400)).body.errors).toEqual([
      { path: 'capacity', reason: 'must be an object' },
    ]);
  });

  it('reports nested and array problems under their full paths, unknown fields first', async () => {
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(
        siteDocument({
          latitude: 'north',
          colour: 'red',
          capacity: { totals: { cores: 0, speed: 1 }, per_task: 'big' },
          runtimes: ['docker', 'podman', 'docker'],
        }),
      )
      .expect(400);
    expect(res.body.errors).toEqual([
      { path: 'colour', reason: 'is not a known field' },
      { path: 'latitude', reason: 'must be a number from -90 to 90' },
      { path: 'capacity.totals.speed', reason: 'is not a known field' },
      { path: 'capacity.totals.cores', reason: 'must be an integer from 1 to 10000000' },
      { path: 'capacity.per_task', reason: 'must be an object' },
      { path: 'runtimes[1]', reason: 'must be one of docker, singularity, apptainer, none' },
      { path: 'runtimes[2]', reason: 'is listed twice' },
    ]);
  });

  it('counts one id written in two cases as listed twice', async () => {
    const id = '0190a5b4-1c2d-7e3f-8a9b-0c1d2e3f4a5b';
    const res = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument({ local_data_store_ids: [id, id.toUpperCase()] }))
      .expect(400);
    expect(res.body.errors).toEqual([{ path: 'local_data_store_ids[1]', reason: 'is listed twice' }]);
  });

  it('takes an action body as optional, but not as anything other than an object', async () => {
    const created = await request(t.url)
      .post('/api/v1/sites')
      .set('Authorization', provider.bearer)
      .send(siteDocument())
      .expect(201);
    const disable = (body?: unknown) => {
      const r = request(t.url)
        .post(`/api/v1/sites/${created.body.id}/disable`)
        .set('Authorization', provider.bearer);
      return body === undefined ? r : r.send(body as object);
    };
    expect((await disable(['why'])).body.errors).toEqual([{ path: '', reason: 'must be an object' }]);
    expect((await disable({ reason: 'x', why: 1 })).body.errors).toEqual([
      { path: 'why', reason: 'is not a known field' },
    ]);
    expect((await disable().expect(200)).body.admin_state).toBe('disabled');
  });
});
