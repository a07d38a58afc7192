import { place } from './placement';
import * as feasibility from './feasibility';
import * as releaseWait from './release-wait';
import { coresHeld, GB, request, site, task } from './testing/fixtures';

describe("a placement's candidates, built when first read", () => {
  const sites = () => [
    site('a', { ...coresHeld({ cores: 8, claimed: 2, claimedMemoryGib: 4 }) }),
    site('b', { health: 'offline' }),
    site('c', { capacity: { maxConcurrentTasks: 10, perTask: { cores: 1 } } }),
  ];
  const t = task({
    cpuCores: 2,
    inputs: [{ url: 'https://x/1', sizeBytes: GB, dataStoreId: 'usegalaxy.eu' }],
  });

  it('are those of the decision even when the snapshot changes before they are read', () => {
    const early = sites();
    const later = sites();
    const p = place(request(later, t));
    const want = place(request(early, t)).candidates;
    later[0].load.claimed = { cores: 8, memoryGib: 64, gpus: 0 };
    later[0].load.queued = 9;
    // A site's other fields are read as immutable: a change is a new site object in the list.
    later[2] = { ...later[2], capacity: { maxConcurrentTasks: 10, perTask: { cores: 16 } } };
    later.reverse();
    expect(p.candidates).toEqual(want);
    expect(want[0]).toMatchObject({ siteId: 'a', placeable: true, queueWaitS: 0 });
    expect(want[1]).toMatchObject({ siteId: 'b', feasible: true, placeable: false, blocked: 'offline' });
    expect(want[2].unmet?.[0].requirement).toBe('cores');
  });

  it('are built once, kept with what the caller adds, and serialised with the placement', () => {
    const p = place(request(sites(), t));
    p.candidates[0].sources = { queueWaitS: 'q', transferS: 't', runS: 'r' };
    expect(p.candidates[0].sources?.runS).toBe('r');
    expect(JSON.parse(JSON.stringify(p)).candidates).toHaveLength(3);
    expect(Object.keys(JSON.parse(JSON.stringify(p)))).toEqual(['decision', 'siteId', 'candidates']);
    p.candidates = [];
    expect(p.candidates).toEqual([]);
  });

  it("give a full site's wait from its running tasks as the scan saw them, though the policy never read it", () => {
    const now = request([]).now;
    const full = (): ReturnType<typeof site> =>
      site('a', {
        ...coresHeld({ cores: 8, running: 1, claimed: 8, claimedMemoryGib: 4 }),
        // Its one task frees the 8 cores in 500 s; the average throughput alone would say 150 s.
        load: {
          running: 1,
          queued: 0,
          claimed: { cores: 8, memoryGib: 4, gpus: 0 },
          runningTasks: [{ cores: 8, memoryGib: 4, startedAt: now - 100, expectedRunS: 600 }],
        },
      });
    const sitesNow = [full(), site('b')];
    const p = place(request(sitesNow, t));
    expect(p).toMatchObject({ decision: 'place', siteId: 'b' });
    // The simulator changes what its tasks hold in place and replaces the list when a task ends.
    const claimed = sitesNow[0].load.claimed as { cores: number };
    claimed.cores = 0;
    sitesNow[0].load.runningTasks = [];
    expect(p.candidates[0]).toMatchObject({ siteId: 'a', placeable: true, queueWaitS: 500 });
  });

  it("keep each full site's wait as its own scan saw it when later placements scan other full sites", () => {
    const now = request([]).now;
    // A full site whose one running task frees its 8 cores `endsIn` seconds from now.
    const full = (id: string, endsIn: number): ReturnType<typeof site> =>
      site(id, {
        capacity: { maxConcurrentTasks: 10, totals: { cores: 8 } },
        load: {
          running: 1,
          queued: 0,
          claimed: { cores: 8, memoryGib: 4, gpus: 0 },
          runningTasks: [{ cores: 8, memoryGib: 4, startedAt: now - 100, expectedRunS: 100 + endsIn }],
        },
      });
    const first = place(request([full('a', 500), full('b', 700), site('c')], t));
    // The next placements' scans find the waits of other sites still to be searched, in the same order.
    place(request([full('a', 900), full('b', 1100), site('c')], t));
    place(request([site('c'), full('d', 1300)], t));
    expect(first.candidates.map((c) => c.queueWaitS)).toEqual([500, 700, 0]);
  });

  it("search no full site's running tasks while a site can start the task, until the explanation is read", () => {
    const now = request([]).now;
    const full = site('a', {
      capacity: { maxConcurrentTasks: 10, totals: { cores: 8 } },
      load: {
        running: 1,
        queued: 0,
        claimed: { cores: 8, memoryGib: 4, gpus: 0 },
        runningTasks: [{ cores: 8, memoryGib: 4, startedAt: now - 100, expectedRunS: 600 }],
      },
    });
    const search = jest.spyOn(releaseWait, 'releaseWaitSeconds');
    try {
      const p = place(request([full, site('b')], t));
      expect(p.siteId).toBe('b');
      expect(search).not.toHaveBeenCalled();
      expect(p.candidates[0].queueWaitS).toBe(500);
      expect(search).toHaveBeenCalledTimes(1);
    } finally {
      search.mockRestore();
    }
  });

  it('list why a site is infeasible when the explanation is read, not while the sites are scanned', () => {
    // Sites that fetch any scheme: what they lack shows in their rows, with no check in full.
    const schemes = { inputs: ['*'], outputs: ['*'] };
    const any = sites().map((s) => ({ ...s, schemes }));
    const judge = jest.spyOn(feasibility, 'unmetRequirements');
    try {
      const p = place(request(any, t));
      expect(p.siteId).toBe('a');
      expect(judge).not.toHaveBeenCalled();
      expect(p.candidates[2].unmet).toEqual([{ requirement: 'cores', detail: 'asks 2, site allows 1' }]);
      expect(judge).toHaveBeenCalledTimes(1);
    } finally {
      judge.mockRestore();
    }
  });
});
