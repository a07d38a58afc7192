import { readRegistryDocument } from './registry-document';
import { CurrentRegistry, CurrentSite, planRegistry, stateActions } from './registry-plan';
import { AdminState } from './registry.types';
import { mergeSiteDocument } from './site-document';

const entry = (over: Record<string, unknown> = {}) => ({
  slug: 'de-fr',
  display_name: 'Freiburg',
  country: 'DE',
  kind: 'tes',
  url: 'https://tes.example.org/',
  ...over,
});

function current(over: Partial<CurrentSite> & { doc?: Record<string, unknown> } = {}): CurrentSite {
  const { doc, ...rest } = over;
  return {
    id: '00000000-0000-4000-8000-000000000001',
    description: mergeSiteDocument(entry(doc) as never).description,
    state: 'active',
    ownerName: 'prov',
    credentials: null,
    localDataStores: [],
    unfinished: 0,
    ...rest,
  };
}

const registry = (sites: CurrentSite[]): CurrentRegistry => ({
  sites,
  dataStores: [],
  owners: new Map([
    ['prov', { id: 'p', role: 'provider' }],
    ['sub', { id: 's', role: 'submitter' }],
  ]),
});

const plan = (doc: Record<string, unknown>, sites: CurrentSite[], prune = false) =>
  planRegistry(readRegistryDocument(doc), registry(sites), prune);

describe('stateActions', () => {
  it.each<{ from: AdminState; to: AdminState; want: string[] | null }>([
    { from: 'pending', to: 'active', want: ['approve'] },
    { from: 'pending', to: 'draining', want: ['approve', 'drain'] },
    { from: 'disabled', to: 'draining', want: ['resume', 'drain'] },
    { from: 'draining', to: 'active', want: ['resume'] },
    { from: 'active', to: 'disabled', want: ['disable'] },
    { from: 'active', to: 'active', want: [] },
    { from: 'active', to: 'pending', want: null },
  ])('$from -> $to', ({ from, to, want }) => {
    expect(stateActions(from, to)).toEqual(want);
  });
});

describe('planRegistry', () => {
  it.each([
    {
      name: 'an identical entry is no change',
      doc: { sites: [entry({ owner: 'prov' })] },
      sites: [current()],
      want: [],
    },
    {
      name: 'a field left out of the entry goes back to its default',
      doc: { sites: [entry()] },
      sites: [current({ doc: { tags: { a: 'b' }, capacity: { max_concurrent_tasks: 3 } } })],
      want: [
        {
          action: 'update',
          type: 'site',
          name: 'de-fr',
          fields: [
            { field: 'capacity.max_concurrent_tasks', from: 3, to: 10 },
            { field: 'tags', from: { a: 'b' }, to: null },
          ],
          note: null,
        },
      ],
    },
    {
      name: 'a state drains',
      doc: { sites: [entry({ state: 'draining' })] },
      sites: [current()],
      want: [
        {
          action: 'update',
          type: 'site',
          name: 'de-fr',
          fields: [{ field: 'state', from: 'active', to: 'draining' }],
          note: null,
        },
      ],
    },
    {
      name: 'the same secret again is no change',
      doc: {
        sites: [entry({ credentials: { token_env: 'T' } })],
        site_credentials: { 'de-fr': { token: 'x' } },
      },
      sites: [current({ credentials: { token: 'x' } })],
      want: [],
    },
  ])('$name', ({ doc, sites, want }) => {
    expect(plan(doc, sites).changes).toEqual(want);
  });

  it('prunes idle sites and drains busy ones, in slug order', () => {
    const busy = current({ id: 'b', doc: { slug: 'b-busy' }, unfinished: 2 });
    const idle = current({ id: 'a', doc: { slug: 'a-idle' }, state: 'draining' });
    const result = plan({ sites: [] }, [busy, idle], true);
    expect(result.changes.map((c) => `${c.action} ${c.name}: ${c.note}`)).toEqual([
      'remove a-idle: no longer in the document',
      'drain b-busy: no longer in the document; 2 unfinished tasks: drained now, removed by a later apply once idle',
    ]);
    expect(plan({ sites: [] }, [busy, idle]).unlisted).toEqual({
      sites: ['a-idle', 'b-busy'],
      data_stores: [],
    });
  });

  it('refuses an unknown owner, a submitter owner and a return to pending, naming each entry', () => {
    expect(() =>
      plan(
        {
          sites: [
            entry({ owner: 'nobody' }),
            entry({ slug: 'two', owner: 'sub' }),
            entry({ slug: 'three', state: 'pending' }),
          ],
        },
        [current({ doc: { slug: 'three' } })],
      ),
    ).toThrow(
      expect.objectContaining({
        errors: [
          { path: 'sites[0].owner', reason: 'names no principal (nobody)' },
          { path: 'sites[1].owner', reason: 'must be a provider or an admin; sub is a submitter' },
          {
            path: 'sites[2].state',
            reason:
              'cannot be pending: site three is active and approval cannot be undone (disabled takes it out of service)',
          },
        ],
      }),
    );
  });
});

describe('readRegistryDocument', () => {
  it('refuses literal credentials and unresolved references, with every path', () => {
    expect(() =>
      readRegistryDocument({
        sites: [
          entry({ credentials: { token: 'literal', token_env: 'X' } }),
          entry({ slug: 'b', credentials: { token_env: 'B_TOKEN' } }),
          entry({ slug: 'c' }),
          entry({ slug: 'c' }),
        ],
        site_credentials: { ghost: { token: 't' } },
        extra: 1,
      }),
    ).toThrow(
      expect.objectContaining({
        errors: [
          { path: 'extra', reason: expect.stringContaining('is not a known field') },
          {
            path: 'sites[0].credentials.token',
            reason: expect.stringContaining('must not be written in the document'),
          },
          {
            path: 'sites[1].credentials',
            reason: expect.stringContaining('names B_TOKEN, which the broker does not read'),
          },
          { path: 'sites[3].slug', reason: 'is listed twice' },
        ],
      }),
    );
  });
});

describe('a data store that allows HEAD to signed URLs', () => {
  const store = { name: 'eu', url_prefixes: ['https://usegalaxy.eu/api/jobs/'], country: 'DE' };
  const withStore = (headSignedUrls: boolean): CurrentRegistry => ({
    ...registry([]),
    dataStores: [
      {
        id: '00000000-0000-4000-8000-0000000000aa',
        description: {
          name: 'eu',
          urlPrefixes: store.url_prefixes,
          country: 'DE',
          latitude: null,
          longitude: null,
          headSignedUrls,
        },
      },
    ],
  });
  const planStores = (doc: Record<string, unknown>, headSignedUrls: boolean) =>
    planRegistry(readRegistryDocument({ data_stores: [doc] }), withStore(headSignedUrls), false).changes;

  it('plans the flag as a change of its own, and its absence as false', () => {
    expect(planStores({ ...store, head_signed_urls: true }, false)).toEqual([
      {
        action: 'update',
        type: 'data_store',
        name: 'eu',
        fields: [{ field: 'head_signed_urls', from: null, to: true }],
        note: null,
      },
    ]);
    expect(planStores(store, false)).toEqual([]);
    expect(planStores({ ...store, head_signed_urls: false }, false)).toEqual([]);
    expect(planStores(store, true)).toEqual([
      {
        action: 'update',
        type: 'data_store',
        name: 'eu',
        fields: [{ field: 'head_signed_urls', from: true, to: null }],
        note: null,
      },
    ]);
  });

  it('refuses a flag that is not a boolean, with its path', () => {
    expect(() => readRegistryDocument({ data_stores: [{ ...store, head_signed_urls: 'yes' }] })).toThrow(
      expect.objectContaining({
        errors: [{ path: 'data_stores[0].head_signed_urls', reason: 'must be true or false' }],
      }),
    );
  });
});
