import { place } from './placement';
import { mulberry32 } from './prng';
import { updateReservations } from './reservation';
import { SiteSnapshot, TaskRequirement } from './snapshot';
import {
  BARI,
  coresHeld,
  FREIBURG,
  GB,
  PRAGUE,
  request,
  site,
  STORES,
  submitter,
  task,
} from './testing/fixtures';

const euData = (bytes: number, expectedRunS?: number): TaskRequirement =>
  task({
    inputs: [{ url: 'https://usegalaxy.eu/api/jobs/1/files', sizeBytes: bytes, dataStoreId: 'usegalaxy.eu' }],
    expectedRunS,
  });

const near = site('near', { ...FREIBURG });
const far = site('far', { ...BARI });
const full = (id: string, extra: Partial<SiteSnapshot> = {}): SiteSnapshot =>
  site(id, { load: { running: 10, queued: 0 }, ...extra });
const tiny = site('tiny', { capacity: { maxConcurrentTasks: 10, perTask: { cores: 2 } } });

describe('place with the default policy', () => {
  it.each<{ name: string; sites: SiteSnapshot[]; t: TaskRequirement; want: string | null; decision: string }>(
    [
      { name: 'data locality wins', sites: [far, near], t: euData(10 * GB), want: 'near', decision: 'place' },
      {
        name: 'skips a draining site',
        sites: [site('near', { adminState: 'draining' }), far],
        t: euData(GB),
        want: 'far',
        decision: 'place',
      },
      {
        name: 'skips an offline site',
        sites: [site('near', { health: 'offline' }), far],
        t: euData(GB),
        want: 'far',
        decision: 'place',
      },
      {
        name: 'skips a full site',
        sites: [full('near'), far],
        t: euData(GB),
        want: 'far',
        decision: 'place',
      },
      {
        name: 'a faster site beats locality for a long task with small input',
        sites: [near, site('fast', { ...PRAGUE, performance: { speedFactor: 1.3 } })],
        t: euData(0.1 * GB, 3600),
        want: 'fast',
        decision: 'place',
      },
      {
        name: 'locality beats a faster site for a short task with big input',
        sites: [near, site('fast', { ...PRAGUE, performance: { speedFactor: 1.3 } })],
        t: euData(20 * GB, 60),
        want: 'near',
        decision: 'place',
      },
      {
        name: 'a queue at the local site sends the task away',
        sites: [
          site(
            'near',
            coresHeld({
              cores: 8,
              maxTasks: 20,
              running: 8,
              queued: 4,
              claimed: 16,
              claimedMemoryGib: 40,
            }),
          ),
          far,
        ],
        t: euData(GB, 600),
        want: 'far',
        decision: 'place',
      },
      {
        name: 'feasible only on a draining site: wait',
        sites: [site('d', { adminState: 'draining' }), tiny],
        t: task({ cpuCores: 4 }),
        want: null,
        decision: 'wait',
      },
      {
        name: 'feasible only on an offline site: wait',
        sites: [site('o', { health: 'offline' })],
        t: task(),
        want: null,
        decision: 'wait',
      },
      {
        name: 'every feasible site full: wait',
        sites: [full('a'), full('b')],
        t: task(),
        want: null,
        decision: 'wait',
      },
      {
        name: 'no feasible site',
        sites: [tiny],
        t: task({ cpuCores: 4 }),
        want: null,
        decision: 'infeasible',
      },
      {
        name: 'only a disabled site could run it',
        sites: [site('x', { adminState: 'disabled' }), tiny],
        t: task({ cpuCores: 4 }),
        want: null,
        decision: 'infeasible',
      },
      {
        name: 'no approved site at all: wait',
        sites: [site('p', { adminState: 'pending' })],
        t: task(),
        want: null,
        decision: 'wait',
      },
      { name: 'no site registered: wait', sites: [], t: task(), want: null, decision: 'wait' },
      {
        name: 'every site excluded by earlier attempts',
        sites: [near, far],
        t: task({ excludedSiteIds: ['near', 'far'] }),
        want: null,
        decision: 'infeasible',
      },
      {
        name: 'pinning overrides the score',
        sites: [near, far],
        t: { ...euData(10 * GB), pinnedSite: 'far' },
        want: 'far',
        decision: 'place',
      },
      {
        name: 'zones restrict the choice',
        sites: [near, site('far', { ...BARI, country: 'IT' })],
        t: { ...euData(GB), zones: ['IT'] },
        want: 'far',
        decision: 'place',
      },
    ],
  )('$name', ({ sites, t, want, decision }) => {
    const got = place(request(sites, t));
    expect(got.decision).toBe(decision);
    expect(got.siteId ?? null).toBe(want);
  });

  it.each([
    {
      name: 'ties go to the lower id whatever the order',
      sites: [site('b'), site('a'), site('c')],
      want: 'a',
    },
    {
      // A 1-byte input over a near-infinite link adds less than one ulp of 600 s: the totals are equal.
      name: 'equal totals: fewer WAN bytes first',
      sites: [site('a', { ...PRAGUE }), site('b', { ...PRAGUE, localDataStoreIds: ['usegalaxy.eu'] })],
      want: 'b',
      t: euData(1),
    },
    {
      name: 'equal totals and bytes: the emptier site',
      sites: [site('a', { load: { running: 3, queued: 0 } }), site('b', { load: { running: 1, queued: 0 } })],
      want: 'b',
    },
  ])('$name', ({ sites, want, t }) => {
    const req = {
      ...request(sites, t ?? task()),
      model: { peakBandwidthBytesPerS: 1e300, setupRoundTrips: 0 },
    };
    expect(place(req).siteId).toBe(want);
  });

  it('returns every candidate with every term, in snapshot order', () => {
    const got = place(
      request(
        [
          site('near', { ...FREIBURG, performance: { speedFactor: 2 } }),
          far,
          tiny,
          full('busy', { ...PRAGUE }),
        ],
        {
          ...euData(GB, 100),
          cpuCores: 4,
        },
      ),
    );
    expect(
      got.candidates.map((c) => [c.siteId, c.feasible, c.placeable, c.blocked, c.queueWaitS, c.runS]),
    ).toEqual([
      ['near', true, true, undefined, 0, 50],
      ['far', true, true, undefined, 0, 100],
      ['tiny', false, false, undefined, 0, 100],
      ['busy', true, false, 'full', 60, 100],
    ]);
    expect(got.candidates[0].transferS).toBe(0);
    expect(got.candidates[1].transferS).toBeCloseTo(16.4145, 4);
    expect(got.candidates[1].totalS).toBeCloseTo(116.4145, 4);
    expect(got.candidates[2].unmet).toEqual([{ requirement: 'cores', detail: 'asks 4, site allows 2' }]);
    expect(got.siteId).toBe('near');
  });

  it('names the unmet requirement of each site when nothing can run the task', () => {
    const got = place(
      request(
        [tiny, site('old', { runtimes: ['docker'] }), site('off', { adminState: 'disabled' })],
        task({ cpuCores: 4, runtimes: ['none'] }),
      ),
    );
    // The sites closest to running it come first.
    expect(got.reason).toBe(
      'no active or draining site can ever run this task: old: runtime (needs none); tiny: cores (asks 4, site allows 2), runtime (needs none)',
    );
  });

  it('names first the sites the task asked for, before those its zones or pin leave out', () => {
    const others = Array.from({ length: 10 }, (_, i) => site(`other-${i}`, { country: 'FR' }));
    const got = place(request([...others, tiny], task({ cpuCores: 4, zones: ['tiny'] })));
    expect(got.decision).toBe('infeasible');
    expect(got.reason).toMatch(/^no active or draining site can ever run this task: tiny: cores \(asks 4/);
    expect(got.reason).toContain('and 3 more');
  });

  it('says why a feasible task waits', () => {
    const got = place(
      request([site('a', { adminState: 'draining' }), site('b', { health: 'offline' }), full('c')]),
    );
    expect(got.reason).toBe('no feasible site can take the task now (a: draining, b: offline, c: full)');
  });

  it.each([
    { name: 'under quota', running: 4, quota: 5, want: 'place' },
    { name: 'at quota', running: 5, quota: 5, want: 'wait' },
    { name: 'no quota', running: 500, quota: null, want: 'place' },
  ])('submitter quota: $name', ({ running, quota, want }) => {
    expect(place(request([near], task(), submitter({ running, quota }))).decision).toBe(want);
  });

  it('a task beyond its quota but infeasible everywhere still fails at once', () => {
    expect(place(request([tiny], task({ cpuCores: 8 }), submitter({ running: 5, quota: 5 }))).decision).toBe(
      'infeasible',
    );
  });

  it('uses the cost model passed with the request', () => {
    const got = place({
      ...request([far], euData(GB)),
      model: { peakBandwidthBytesPerS: 1e9, setupRoundTrips: 0 },
    });
    expect(got.candidates[0].transferS).toBeCloseTo(GB / (1e9 / (1 + 1046.580397833898 / 1000)), 6);
  });
});

// 8 cores, all held by the broker's tasks: one more core queues for 1 / (8 cores / 600 s) = 75 s.
const busy = (id: string, extra: Partial<SiteSnapshot> = {}): SiteSnapshot =>
  site(id, {
    capacity: { maxConcurrentTasks: 20, totals: { cores: 8 } },
    load: { running: 8, queued: 0, claimed: { cores: 8, memoryGib: 30, gpus: 0 } },
    ...extra,
  });
const now = 1_700_000_000;

describe('ect holds a task only when no site can start it now', () => {
  it.each<{ name: string; sites: SiteSnapshot[]; t: TaskRequirement; want: string | null }>([
    {
      name: 'a site that starts it now beats a faster one that would queue it',
      sites: [
        busy('fast', { performance: { speedFactor: 1.3 } }),
        site('idle', { performance: { speedFactor: 0.8 } }),
      ],
      t: task({ expectedRunS: 3600, queuedAt: now }),
      want: 'idle',
    },
    {
      name: 'every site would queue it: held while it has waited less than the best wait',
      sites: [busy('a'), busy('b', { ...BARI })],
      t: task({ queuedAt: now - 74 }),
      want: null,
    },
  ])('$name', ({ sites, t, want }) => {
    const got = place({ ...request(sites, t), now });
    expect(got.siteId ?? null).toBe(want);
    expect(got.decision).toBe(want === null ? 'wait' : 'place');
  });

  it('says it is holding the task', () => {
    const got = place({ ...request([busy('a')], task({ queuedAt: now })), now });
    expect(got.reason).toBe('no feasible site can take the task now (a: held by policy)');
    expect(got.candidates[0].queueWaitS).toBe(75);
  });
});

describe('ect reserves a site for a task whose hold ran out (backfill)', () => {
  const held = (taskId: string, startAt = now + 500, cores = 8) => ({
    taskId,
    cores,
    memoryGib: 8,
    gpus: 0,
    startAt,
  });
  const reservedBy = (s: SiteSnapshot, r: ReturnType<typeof held>): SiteSnapshot => ({
    ...s,
    load: { ...s.load, reservation: r },
  });
  // A quarter of a busy site's 8 cores (RESERVE_MIN_SHARE): 2 more cores queue for 2 / (8 / 600 s) = 150 s.
  const wide = (o: Partial<TaskRequirement> = {}): TaskRequirement => task({ cpuCores: 2, ...o });

  it.each<{ name: string; sites: SiteSnapshot[]; t: TaskRequirement; want: string; startAt: number }>([
    {
      name: 'waited as long as the best estimated wait: it reserves that site from then',
      sites: [busy('a'), busy('b', { ...BARI })],
      t: wide({ queuedAt: now - 150 }),
      want: 'a',
      startAt: now + 150,
    },
    {
      name: 'no queuedAt: never held, it reserves at once',
      sites: [busy('b'), busy('a')],
      t: wide(),
      want: 'a',
      startAt: now + 150,
    },
    {
      name: 'the best site is reserved by another task: it reserves the next',
      sites: [reservedBy(busy('a'), held('other')), busy('b', { ...BARI })],
      t: wide({ queuedAt: now - 1000 }),
      want: 'b',
      startAt: now + 150,
    },
    {
      name: 'its own reservation keeps its start, so backfill cannot push it back',
      sites: [reservedBy(busy('a'), held('t1', now + 20))],
      t: wide({ queuedAt: now - 1000 }),
      want: 'a',
      startAt: now + 20,
    },
  ])('$name', ({ sites, t, want, startAt }) => {
    const got = place({ ...request(sites, t), now });
    expect(got.decision).toBe('wait');
    expect(got.reservation).toEqual({
      siteId: want,
      taskId: 't1',
      cores: 2,
      memoryGib: 7.6,
      gpus: 0,
      startAt,
    });
    expect(got.reason).toMatch(new RegExp(`; reserved ${want} from `));
  });

  it('a task under a quarter of the site is committed to the best queue: no reservation keeps room idle for it', () => {
    const got = place({ ...request([busy('a'), busy('b', { ...BARI })], task({ queuedAt: now - 75 })), now });
    expect(got).toMatchObject({ decision: 'place', siteId: 'a' });
    expect(got.reservation).toBeUndefined();
  });

  it('every site reserved by other tasks: committed to the best queue, as without reservations', () => {
    const sites = [reservedBy(busy('a'), held('x')), reservedBy(busy('b', { ...BARI }), held('y'))];
    const got = place({ ...request(sites, task({ queuedAt: now - 1000 })), now });
    expect(got).toMatchObject({ decision: 'place', siteId: 'a' });
    expect(got.reservation).toBeUndefined();
  });

  // Half of the 8 cores free; a task of all 8 reserved the site from now + 100 s.
  const half = reservedBy(
    site('a', {
      capacity: { maxConcurrentTasks: 20, totals: { cores: 8 } },
      load: { running: 4, queued: 0, claimed: { cores: 4, memoryGib: 15, gpus: 0 } },
    }),
    held('big', now + 100),
  );

  it.each([
    ['a small task expected to end before the reservation starts backfills the gap', 50, 'place'],
    ['a small task that would still run then counts the reserved cores as taken and waits', 600, 'wait'],
  ])('%s', (_name, expectedRunS, decision) => {
    const got = place({ ...request([half], task({ cpuCores: 2, expectedRunS, queuedAt: now })), now });
    expect(got.decision).toBe(decision);
  });

  it('the reservation does not count against the task that holds it', () => {
    const free = reservedBy(site('a'), held('t1', now + 100));
    expect(place({ ...request([free], task({ cpuCores: 2, queuedAt: now })), now })).toMatchObject({
      decision: 'place',
      siteId: 'a',
    });
  });

  it('updateReservations moves a reservation with its task and drops it once the task is placed', () => {
    const sites = [busy('a'), busy('b', { ...BARI })];
    const first = place({ ...request(sites, wide({ queuedAt: now - 150 })), now });
    updateReservations(sites, 't1', first);
    expect(sites[0].load.reservation).toMatchObject({ taskId: 't1', startAt: now + 150 });
    updateReservations(sites, 't1', { ...first, reservation: { ...first.reservation!, siteId: 'b' } });
    expect(sites.map((s) => s.load.reservation?.taskId)).toEqual([undefined, 't1']);
    updateReservations(sites, 't1', { decision: 'place', siteId: 'a', candidates: [] });
    expect(sites.map((s) => s.load.reservation)).toEqual([undefined, undefined]);
  });
});

describe('place is a pure function', () => {
  it('gives the same answer for the same input and seed', () => {
    const req = request([near, far, site('c', { ...PRAGUE })], euData(GB));
    const a = place(req, { policy: 'random', context: { prng: mulberry32(7) } });
    const b = place(req, { policy: 'random', context: { prng: mulberry32(7) } });
    expect(a).toEqual(b);
  });
});

describe('distances remembered between placements', () => {
  const transferAt = (sites: SiteSnapshot[], stores = STORES, id = 'b'): number => {
    const got = place({ ...request(sites, euData(GB)), dataStores: stores });
    return got.candidates.find((c) => c.siteId === id)!.transferS;
  };
  const fresh = (s: SiteSnapshot): number =>
    transferAt(
      [{ ...s }],
      STORES.map((x) => ({ ...x })),
      s.id,
    );

  it('measures again a site that moved, a store that moved and a site that changed places in the list', () => {
    const local = site('a', { ...BARI, localDataStoreIds: ['usegalaxy.eu'] });
    let b = site('b', { ...PRAGUE });
    const stores = STORES.map((x) => ({ ...x }));
    const first = transferAt([local, b], stores);
    expect(first).toBe(fresh(b));
    // A site is read as immutable but for its load: one that moved is a new site object in the list.
    b = { ...b, ...BARI };
    expect(transferAt([local, b], stores)).toBe(fresh(b));
    expect(transferAt([local, b], stores)).toBeGreaterThan(first);
    const eu = stores[0];
    const before = transferAt([local, b], stores);
    Object.assign(eu, PRAGUE);
    const afterStoreMoved = transferAt([local, b], stores);
    expect(afterStoreMoved).toBeLessThan(before);
    Object.assign(eu, FREIBURG);
    // The same sites in another order: each index now holds another site.
    const other = site('c', { ...FREIBURG });
    expect(transferAt([b, other], stores)).toBe(fresh(b));
    expect(transferAt([other, b], stores)).toBe(fresh(b));
  });
});
