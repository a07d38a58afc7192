import { unmetRequirements } from './feasibility';
import { place } from './placement';
import { mulberry32 } from './prng';
import { resolveResources } from './requirements';
import { feasibleByRow, infeasibleByRow, SiteTable, STAMP, taskScreen } from './site-table';
import { request, site, task } from './testing/fixtures';
import { randomNetwork } from './testing/random-network';

describe('a site row judges feasibility as the full check does', () => {
  // Every reason a site can fail a task, on a seeded network (the golden placements' generator).
  const net = randomNetwork(mulberry32(5), 120, 200);
  const table = new SiteTable();

  it('says feasible only where nothing is unmet, and infeasible only where something is', () => {
    let rowFeasible = 0;
    let rowInfeasible = 0;
    const wrong: string[] = [];
    for (const t of net.tasks) {
      const res = resolveResources(t);
      for (const submitter of net.submitters) {
        const screen = taskScreen(t, res, submitter);
        net.sites.forEach((s, i) => {
          const at = table.at(i, s);
          const unmet = unmetRequirements(s, t, res, submitter);
          if (feasibleByRow(table.numbers, at, screen)) {
            rowFeasible++;
            if (unmet !== undefined) wrong.push(`${t.id} on ${s.id} is not feasible`);
          }
          if (infeasibleByRow(table.numbers, at, screen)) {
            rowInfeasible++;
            if (unmet === undefined) wrong.push(`${t.id} on ${s.id} is feasible`);
          }
        });
      }
    }
    expect(wrong).toEqual([]);
    // Both shortcuts are taken often, so the checks above are not vacuous.
    expect(rowFeasible).toBeGreaterThan(1000);
    expect(rowInfeasible).toBeGreaterThan(1000);
  });
});

describe('rows remembered per site object', () => {
  it('reads a site put in place of another afresh, and keeps the row of the same object', () => {
    const table = new SiteTable();
    const up = site('a');
    const first = table.at(0, up);
    const stamp = table.numbers[first + STAMP];
    expect(table.at(0, up)).toBe(first);
    expect(table.numbers[first + STAMP]).toBe(stamp);
    table.at(0, { ...up, health: 'offline' });
    expect(table.numbers[first + STAMP]).toBeGreaterThan(stamp);
  });

  it('places by the site now in the list when a site is replaced between placements', () => {
    const sites = [site('a'), site('b', { performance: { speedFactor: 2 } })];
    const t = task({ expectedRunS: 100 });
    expect(place(request(sites, t)).siteId).toBe('b');
    sites[1] = { ...sites[1], health: 'offline' };
    expect(place(request(sites, t)).siteId).toBe('a');
    sites[1] = { ...sites[1], health: 'up', performance: { speedFactor: 0.5 } };
    expect(place(request(sites, t)).siteId).toBe('a');
    sites[0] = { ...sites[0], capacity: { maxConcurrentTasks: 10, perTask: { cores: 0.5 } } };
    expect(place(request(sites, t)).siteId).toBe('b');
  });
});
