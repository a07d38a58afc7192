import { place } from './placement';
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
    later[2].capacity.perTask = { cores: 16 };
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
});
