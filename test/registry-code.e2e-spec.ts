import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createPrincipal, TestPrincipal } from './support/principals';
import { Client } from 'pg';
import { OwnDatabase } from './support/own-database';
import { CliResult, runCli } from './support/run-cli';
import { siteDocument } from './support/site-documents';
import { startTestApp, TestApp } from './support/test-app';

/** The CLI with a remote broker's URL and token, or the given environment; never the test's CONSTELLATION_URL. */
function cli(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return runCli({ CONSTELLATION_URL: '', CONSTELLATION_TOKEN: '', ...env }, args);
}

const run = new URL(process.env.DATABASE_URL as string).pathname.slice(1);
const dir = mkdtempSync(path.join(tmpdir(), 'registry-code-'));
const PROVIDER = 'galaxy-eu-provider';
const ADMIN = 'network-admin';

/** What the populated broker below exports: sorted by name and slug, tags by key, defaults left out. */
const EXPECTED_EXPORT = `version: 1
data_stores:
  - name: bari-s3
    url_prefixes:
      - s3://bari/
    country: IT
  - name: usegalaxy.eu
    url_prefixes:
      - https://usegalaxy.eu/api/jobs/
    country: DE
    latitude: 47.99
    longitude: 7.84
sites:
  - slug: cz-amqp
    display_name: Brno over AMQP
    kind: pulsar-amqp
    pulsar_manager: constellation
    country: CZ
    state: draining
    owner: network-admin
    capacity:
      max_concurrent_tasks: 10
    runtimes:
      - singularity
      - none
    run_images_on_host: true
    image_cache_dir: /scratch/cache
  - slug: de-freiburg
    display_name: Test Pulsar (Freiburg)
    kind: pulsar-rest
    url: https://pulsar.example.org/
    country: DE
    latitude: 47.99
    longitude: 7.84
    state: active
    owner: galaxy-eu-provider
    capacity:
      max_concurrent_tasks: 20
      totals:
        cores: 256
        memory_gib: 1024
        gpus: 4
        gpu_type: A100
        disk_gib: 10000
      per_task:
        cores: 64
        memory_gib: 512
        gpus: 2
        disk_gib: 1000
    runtimes:
      - docker
      - singularity
    local_data_stores:
      - usegalaxy.eu
    tags:
      region: eu-central
      zone: b
  - slug: it-bari
    display_name: ReCaS Bari
    kind: tes
    url: https://tes.bari.example.org/
    country: IT
    latitude: 41.11
    longitude: 16.87
    state: pending
    owner: galaxy-eu-provider
    capacity:
      max_concurrent_tasks: 5
    runtimes:
      - docker
`;

describe('registry as code: export and apply', () => {
  const source = new OwnDatabase(`${run}_rc_source`);
  const target = new OwnDatabase(`${run}_rc_target`);
  let exported = '';

  beforeAll(async () => {
    await source.create();
    await target.create();
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  describe('on a populated broker', () => {
    let a: TestApp;
    let admin: TestPrincipal;

    beforeAll(async () => {
      a = await startTestApp({ DATABASE_URL: source.url, CONSTELLATION_PROBE_SECONDS: '0' });
      admin = await createPrincipal(a, 'admin', { name: ADMIN });
      const provider = await createPrincipal(a, 'provider', { name: PROVIDER });
      const api = () => request(a.url);
      const store = await api()
        .post('/api/v1/data-stores')
        .set('Authorization', admin.bearer)
        .send({
          name: 'usegalaxy.eu',
          url_prefixes: ['https://usegalaxy.eu/api/jobs/'],
          country: 'DE',
          latitude: 47.99,
          longitude: 7.84,
        })
        .expect(201);
      await api()
        .post('/api/v1/data-stores')
        .set('Authorization', admin.bearer)
        .send({ name: 'bari-s3', url_prefixes: ['s3://bari/'], country: 'IT' })
        .expect(201);
      // Registered out of slug order, in all three kinds and three admin states.
      await api()
        .post('/api/v1/sites')
        .set('Authorization', provider.bearer)
        .send({
          slug: 'it-bari',
          display_name: 'ReCaS Bari',
          kind: 'tes',
          url: 'https://tes.bari.example.org/',
          country: 'IT',
          latitude: 41.11,
          longitude: 16.87,
          capacity: { max_concurrent_tasks: 5 },
        })
        .expect(201);
      await api()
        .post('/api/v1/sites')
        .set('Authorization', provider.bearer)
        .send(
          siteDocument({
            slug: 'de-freiburg',
            local_data_store_ids: [store.body.id],
            tags: { zone: 'b', region: 'eu-central' },
          }),
        )
        .expect(201);
      await api()
        .post('/api/v1/sites')
        .set('Authorization', admin.bearer)
        .send({
          slug: 'cz-amqp',
          display_name: 'Brno over AMQP',
          country: 'CZ',
          kind: 'pulsar-amqp',
          runtimes: ['singularity', 'none'],
          run_images_on_host: true,
          image_cache_dir: '/scratch/cache',
        })
        .expect(201);
      for (const [slug, actions] of [
        ['de-freiburg', ['approve']],
        ['cz-amqp', ['approve', 'drain']],
      ] as const) {
        for (const act of actions) {
          await api().post(`/api/v1/sites/${slug}/${act}`).set('Authorization', admin.bearer).expect(200);
        }
      }
    });
    afterAll(async () => {
      await a?.close();
    });

    it('exports every site and data store sorted, without ids, timestamps, health, load or credentials', async () => {
      const r = await cli({}, 'registry', 'export', '--url', a.url, '--token', admin.token);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      exported = r.stdout;
      expect(exported).toBe(EXPECTED_EXPORT);
      for (const absent of [
        'id:',
        'created_at',
        'health',
        'load',
        'probe',
        'pulsar-private-token',
        'has_credentials',
      ]) {
        expect(exported).not.toContain(absent);
      }
      // JSON is the same document; the endpoint answers it too.
      const json = await cli(
        {},
        'registry',
        'export',
        '--format',
        'json',
        '--url',
        a.url,
        '--token',
        admin.token,
      );
      expect(JSON.parse(json.stdout)).toEqual(parseYaml(exported));
      const res = await request(a.url)
        .get('/api/v1/registry:export')
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(res.body).toEqual(parseYaml(exported));
    }, 120_000);

    it('lets only admins export', async () => {
      const provider = await createPrincipal(a, 'provider');
      const res = await request(a.url)
        .get('/api/v1/registry:export')
        .set('Authorization', provider.bearer)
        .expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });
  });

  describe('applied to an empty broker', () => {
    let b: TestApp;
    let admin: TestPrincipal;
    const file = path.join(dir, 'network.yaml');
    const remote = (): string[] => ['--url', b.url, '--token', admin.token];
    const exportB = async (): Promise<string> => (await cli({}, 'registry', 'export', ...remote())).stdout;

    beforeAll(async () => {
      b = await startTestApp({ DATABASE_URL: target.url, CONSTELLATION_PROBE_SECONDS: '0' });
      admin = await createPrincipal(b, 'admin', { name: ADMIN });
      await createPrincipal(b, 'provider', { name: PROVIDER });
    });
    afterAll(async () => {
      await b?.close();
    });

    it('a dry run prints the plan and changes nothing', async () => {
      writeFileSync(file, exported);
      const r = await cli({}, 'registry', 'apply', '-f', file, '--dry-run', ...remote());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          'Plan for network.yaml: 5 to create, 0 to update, 0 to drain, 0 to remove',
          '  + create data store bari-s3',
          '  + create data store usegalaxy.eu',
          '  + create site cz-amqp (pulsar-amqp at AMQP_URL, draining, owned by ' + admin.name + ')',
          '  + create site de-freiburg (pulsar-rest at https://pulsar.example.org/, active, owned by ' +
            PROVIDER +
            ')',
          '  + create site it-bari (tes at https://tes.bari.example.org/, pending, owned by ' +
            PROVIDER +
            ')',
          'Dry run: nothing was changed. Run without --dry-run to apply.',
          '',
        ].join('\n'),
      );
      expect(parseYaml(await exportB())).toEqual({ version: 1, data_stores: [], sites: [] });
    }, 120_000);

    it('applies, after which an export is byte-identical to the one applied, and a second apply changes nothing', async () => {
      const r = await cli({}, 'registry', 'apply', '-f', file, ...remote());
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Applied.');
      expect(await exportB()).toBe(readFileSync(file, 'utf8'));
      const again = await cli({}, 'registry', 'apply', '-f', file, ...remote());
      expect(again.stdout).toBe('No changes: the registry matches network.yaml.\n');
      // Through the same services as the REST API: each site has its events, the owner is the provider.
      const site = await request(b.url)
        .get('/api/v1/sites/de-freiburg')
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(site.body).toMatchObject({ admin_state: 'active', has_credentials: false });
      const events = await request(b.url)
        .get(`/api/v1/sites/${site.body.id}/events`)
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(events.body.events.map((e: { kind: string; to: string | null }) => `${e.kind}:${e.to}`)).toEqual(
        ['registered:pending', 'admin_state:active'],
      );
    }, 180_000);

    it('updates the changed fields, taking a token from the environment, and is idempotent with it', async () => {
      const doc = parseYaml(readFileSync(file, 'utf8'));
      const freiburg = doc.sites.find((s: { slug: string }) => s.slug === 'de-freiburg');
      freiburg.capacity.max_concurrent_tasks = 30;
      freiburg.credentials = { token_env: 'FREIBURG_TOKEN' };
      writeFileSync(file, stringifyYaml(doc));
      const env = { FREIBURG_TOKEN: 'secret-from-the-environment' };
      const r = await cli(env, 'registry', 'apply', '-f', file, ...remote());
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        [
          'Plan for network.yaml: 0 to create, 1 to update, 0 to drain, 0 to remove',
          '  ~ update site de-freiburg',
          '      capacity.max_concurrent_tasks: 20 -> 30',
          '      credentials: (none) -> (new value)',
          'Applied.',
          '',
        ].join('\n'),
      );
      expect(r.stdout).not.toContain('secret-from-the-environment');
      const site = await request(b.url)
        .get('/api/v1/sites/de-freiburg')
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(site.body).toMatchObject({ has_credentials: true, capacity: { max_concurrent_tasks: 30 } });
      const again = await cli(env, 'registry', 'apply', '-f', file, ...remote());
      expect(again.stdout).toBe('No changes: the registry matches network.yaml.\n');
      const missing = await cli({}, 'registry', 'apply', '-f', file, ...remote());
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(
        'network.yaml: sites[1] (de-freiburg): credentials.token_env: environment variable FREIBURG_TOKEN is not set\n',
      );
    }, 180_000);

    it('--prune removes what the document no longer lists, draining a site with unfinished tasks first', async () => {
      // A task the broker placed at de-freiburg and that is still running there.
      const submitter = await createPrincipal(b, 'submitter');
      const task = await request(b.url)
        .post('/ga4gh/tes/v1/tasks')
        .set('Authorization', submitter.bearer)
        .send({ executors: [{ image: 'alpine', command: ['true'] }] })
        .expect(200);
      const freiburg = await request(b.url)
        .get('/api/v1/sites/de-freiburg')
        .set('Authorization', admin.bearer);
      await target.query(`UPDATE task SET site_id = $1, state = 'RUNNING' WHERE id = $2`, [
        freiburg.body.id,
        task.body.id,
      ]);

      const doc = parseYaml(readFileSync(file, 'utf8'));
      doc.sites = doc.sites.filter((s: { slug: string }) => s.slug === 'cz-amqp');
      doc.data_stores = doc.data_stores.filter((d: { name: string }) => d.name === 'bari-s3');
      const pruned = path.join(dir, 'pruned.yaml');
      writeFileSync(pruned, stringifyYaml(doc));
      const kept = await cli({}, 'registry', 'apply', '-f', pruned, ...remote());
      expect(kept.stdout).toBe(
        [
          'No changes: the registry matches pruned.yaml.',
          '  not in pruned.yaml, kept (--prune removes them): data store usegalaxy.eu, site de-freiburg, site it-bari',
          '',
        ].join('\n'),
      );
      const r = await cli({}, 'registry', 'apply', '-f', pruned, '--prune', ...remote());
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(
        [
          'Plan for pruned.yaml: 0 to create, 0 to update, 1 to drain, 2 to remove',
          '  ! drain site de-freiburg (no longer in the document; 1 unfinished task: drained now, removed by a later apply once idle)',
          '  - remove site it-bari (no longer in the document)',
          '  - remove data store usegalaxy.eu (no longer in the document)',
          'Applied.',
          '',
        ].join('\n'),
      );
      await request(b.url).get('/api/v1/sites/it-bari').set('Authorization', admin.bearer).expect(404);
      const drained = await request(b.url)
        .get('/api/v1/sites/de-freiburg')
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(drained.body.admin_state).toBe('draining');

      await target.query(`UPDATE task SET state = 'COMPLETE' WHERE id = $1`, [task.body.id]);
      const later = await cli({}, 'registry', 'apply', '-f', pruned, '--prune', ...remote());
      expect(later.stdout).toBe(
        [
          'Plan for pruned.yaml: 0 to create, 0 to update, 0 to drain, 1 to remove',
          '  - remove site de-freiburg (no longer in the document)',
          'Applied.',
          '',
        ].join('\n'),
      );
      await request(b.url).get('/api/v1/sites/de-freiburg').set('Authorization', admin.bearer).expect(404);
      // The finished task keeps its history.
      await request(b.url)
        .get(`/ga4gh/tes/v1/tasks/${task.body.id}`)
        .set('Authorization', submitter.bearer)
        .expect(200);
      expect(parseYaml(await exportB())).toEqual(doc);
    }, 240_000);

    it('works on the local database too, without a URL', async () => {
      const local = await cli({ DATABASE_URL: target.url }, 'registry', 'export', '--format', 'json');
      expect(local.code).toBe(0);
      expect(JSON.parse(local.stdout)).toEqual(parseYaml(await exportB()));
    }, 120_000);

    it('refuses a document with a literal credential, naming the file, the entry and the field', async () => {
      const bad = path.join(dir, 'literal.yaml');
      writeFileSync(
        bad,
        stringifyYaml({
          version: 1,
          sites: [
            {
              slug: 'ok-site',
              display_name: 'OK',
              country: 'DE',
              kind: 'tes',
              url: 'https://ok.example.org/',
            },
            {
              slug: 'leaky',
              display_name: 'Leaky',
              country: 'DE',
              kind: 'tes',
              url: 'https://leaky.example.org/',
              credentials: { token: 'literal-secret' },
            },
          ],
        }),
      );
      const r = await cli({}, 'registry', 'apply', '-f', bad, ...remote());
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'literal.yaml: sites[1] (leaky): credentials.token: must not be written in the document: name an environment ' +
          'variable (token_env, or username_env and password_env), or give the secret in the file named by credentials_file\n',
      );
      // The endpoint refuses it too, for callers without the CLI.
      const res = await request(b.url)
        .post('/api/v1/registry:apply')
        .set('Authorization', admin.bearer)
        .send(parseYaml(readFileSync(bad, 'utf8')))
        .expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual([
        {
          path: 'sites[1].credentials.token',
          reason: expect.stringContaining('must not be written in the document'),
        },
      ]);
    }, 120_000);

    it('names the file, the entry and the field of every invalid value', async () => {
      const bad = path.join(dir, 'invalid.yaml');
      writeFileSync(
        bad,
        stringifyYaml({
          version: 1,
          data_stores: [{ name: 'store', url_prefixes: ['nope'], country: 'DE' }],
          sites: [
            {
              slug: 'fine',
              display_name: 'Fine',
              country: 'DE',
              kind: 'tes',
              url: 'https://fine.example.org/',
            },
            {
              slug: 'pulsar-it',
              display_name: 'IT',
              country: 'IT',
              kind: 'pulsar-rest',
              url: 'ftp://pulsar.example.org/',
              state: 'paused',
              local_data_stores: ['elsewhere'],
            },
          ],
        }),
      );
      const r = await cli({}, 'registry', 'apply', '-f', bad, ...remote());
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        'invalid.yaml: data_stores[0] (store): url_prefixes[0]: must be an absolute URL prefix such as https://host/path/ or s3://bucket/',
        'invalid.yaml: sites[1] (pulsar-it): state: must be one of pending, active, draining, disabled',
        'invalid.yaml: sites[1] (pulsar-it): local_data_stores[0]: names no data store of the document',
      ]);
      const url = path.join(dir, 'url.yaml');
      writeFileSync(
        url,
        stringifyYaml({
          version: 1,
          sites: [
            {
              slug: 'pulsar-it',
              display_name: 'IT',
              country: 'IT',
              kind: 'pulsar-rest',
              url: 'ftp://pulsar.example.org/',
            },
          ],
        }),
      );
      const u = await cli({}, 'registry', 'apply', '-f', url, ...remote());
      expect(u.stderr).toBe(
        'url.yaml: sites[0] (pulsar-it): url: must use http or https for a pulsar-rest site\n',
      );
    }, 120_000);

    it('is in the OpenAPI document, which still validates', async () => {
      const doc = (await request(b.url).get('/openapi.json').expect(200)).body;
      await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
      const apply = doc.paths['/api/v1/registry:apply'].post;
      expect(apply.requestBody.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/RegistryApplyRequestDto',
      });
      expect(apply.responses['200'].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/RegistryApplyResultDto',
      });
      expect(Object.keys(apply.responses).sort()).toEqual(['200', '400', '401', '403', '413', '429', '503']);
      expect(
        doc.paths['/api/v1/registry:export'].get.responses['200'].content['application/json'].schema,
      ).toEqual({
        $ref: '#/components/schemas/RegistryDocumentDto',
      });
      expect(doc.components.schemas.RegistrySiteEntryDto.properties).toHaveProperty('state');
      expect(doc.components.schemas.RegistrySiteEntryDto.properties).not.toHaveProperty(
        'local_data_store_ids',
      );
    });

    it('refuses a second apply while one holds the registry, but plans', async () => {
      const body = { version: 1, sites: [] };
      const holder = new Client({ connectionString: target.url });
      await holder.connect();
      try {
        // As a running apply does (libs/registry registry-snapshot.repository.ts, APPLY_LOCK_KEY).
        await holder.query('SELECT pg_advisory_lock(7245170)');
        const res = await request(b.url)
          .post('/api/v1/registry:apply?dry_run=false')
          .set('Authorization', admin.bearer)
          .send(body)
          .expect(409);
        expect(res.body).toMatchObject({
          code: 'CONFLICT',
          message: 'another registry apply is in progress; apply again once it has finished',
        });
        await request(b.url)
          .post('/api/v1/registry:apply')
          .set('Authorization', admin.bearer)
          .send(body)
          .expect(200);
      } finally {
        await holder.end();
      }
      await request(b.url)
        .post('/api/v1/registry:apply?dry_run=false')
        .set('Authorization', admin.bearer)
        .send(body)
        .expect(200);
    });

    it('the endpoint is a dry run by default, answers the plan, and is for admins only', async () => {
      const body = {
        version: 1,
        sites: [
          {
            slug: 'new-site',
            display_name: 'New',
            country: 'FR',
            kind: 'tes',
            url: 'https://new.example.org/',
          },
        ],
      };
      const res = await request(b.url)
        .post('/api/v1/registry:apply')
        .set('Authorization', admin.bearer)
        .send(body)
        .expect(200);
      expect(res.body).toMatchObject({
        dry_run: true,
        applied: false,
        summary: { create: 1, update: 0, drain: 0, remove: 0 },
        changes: [{ action: 'create', type: 'site', name: 'new-site', fields: [] }],
      });
      await request(b.url).get('/api/v1/sites/new-site').set('Authorization', admin.bearer).expect(404);
      const bad = await request(b.url)
        .post('/api/v1/registry:apply?dry_run=maybe')
        .set('Authorization', admin.bearer)
        .send(body)
        .expect(400);
      expect(bad.body.errors).toEqual([{ path: 'dry_run', reason: 'must be true or false' }]);
      const provider = await createPrincipal(b, 'provider');
      await request(b.url)
        .post('/api/v1/registry:apply')
        .set('Authorization', provider.bearer)
        .send(body)
        .expect(403);
      const applied = await request(b.url)
        .post('/api/v1/registry:apply?dry_run=false')
        .set('Authorization', admin.bearer)
        .send(body)
        .expect(200);
      expect(applied.body).toMatchObject({ dry_run: false, applied: true });
      const site = await request(b.url)
        .get('/api/v1/sites/new-site')
        .set('Authorization', admin.bearer)
        .expect(200);
      expect(site.body).toMatchObject({ admin_state: 'active', owner_id: admin.id });
    });
  });
});
