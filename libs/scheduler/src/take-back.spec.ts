import { place } from './placement';
import { Candidate, Placement } from './snapshot';
import { DEFAULT_TAKE_BACK, overdueAtSite, takeBackChoice, TakeBackSettings } from './take-back';
import { coresHeld, request, site, task } from './testing/fixtures';

const settings: TakeBackSettings = { factor: 2, floorS: 600, marginS: 60, maxTakeBacks: 2 };

describe('overdueAtSite', () => {
  it.each<{ name: string; atSiteS: number; expectedWaitS: number; takenBack: number; want: boolean }>([
    { name: 'within the floor', atSiteS: 500, expectedWaitS: 0, takenBack: 0, want: false },
    { name: 'past the floor, no wait expected', atSiteS: 601, expectedWaitS: 0, takenBack: 0, want: true },
    {
      name: 'past the floor, within factor x expected',
      atSiteS: 1900,
      expectedWaitS: 1000,
      takenBack: 0,
      want: false,
    },
    { name: 'past factor x expected', atSiteS: 2001, expectedWaitS: 1000, takenBack: 0, want: true },
    { name: 'taken back as often as allowed', atSiteS: 50_000, expectedWaitS: 0, takenBack: 2, want: false },
    {
      name: 'a negative expected wait counts as none',
      atSiteS: 601,
      expectedWaitS: -5,
      takenBack: 1,
      want: true,
    },
  ])('$name', ({ atSiteS, expectedWaitS, takenBack, want }) => {
    expect(overdueAtSite(atSiteS, expectedWaitS, takenBack, settings)).toBe(want);
  });

  it('defaults bound the take-backs per task', () => {
    expect(overdueAtSite(1e6, 0, DEFAULT_TAKE_BACK.maxTakeBacks, DEFAULT_TAKE_BACK)).toBe(false);
    expect(overdueAtSite(1e6, 0, DEFAULT_TAKE_BACK.maxTakeBacks - 1, DEFAULT_TAKE_BACK)).toBe(true);
  });
});

const candidate = (siteId: string, terms: Partial<Candidate>): Candidate => {
  const c = { queueWaitS: 0, transferS: 0, runS: 600, ...terms };
  return {
    siteId,
    slug: siteId,
    feasible: true,
    placeable: true,
    wanBytes: 0,
    totalS: c.queueWaitS + c.transferS + c.runS,
    ...c,
  };
};

const placedOn = (siteId: string, candidates: Candidate[]): Placement => ({
  decision: 'place',
  siteId,
  candidates,
});

describe('takeBackChoice', () => {
  it('moves a task whose queue held it long past its estimate to a site that can start it', () => {
    const p = placedOn('free', [
      candidate('stuck', { queueWaitS: 100, runS: 600 }),
      candidate('free', { transferS: 30, runS: 700 }),
    ]);
    // Staying: it waited 5,000 s, so as long again, plus its run there.
    expect(takeBackChoice(p, 'stuck', 5000, settings)).toEqual({
      fromSiteId: 'stuck',
      toSiteId: 'free',
      stayS: 5600,
      moveS: 730,
    });
  });

  it.each<{ name: string; p: Placement; atSiteS: number }>([
    {
      name: 'placement chose the site it is at',
      p: placedOn('stuck', [candidate('stuck', {}), candidate('other', { runS: 5000 })]),
      atSiteS: 5000,
    },
    {
      name: 'no site can take it now (it would be held in the broker)',
      p: { decision: 'wait', candidates: [candidate('stuck', { queueWaitS: 9000 })] },
      atSiteS: 5000,
    },
    {
      name: 'the gain is within the margin',
      p: placedOn('free', [candidate('stuck', { runS: 600 }), candidate('free', { runS: 5550 })]),
      atSiteS: 5000,
    },
    {
      name: 'its site can no longer run it at all (failover handles that)',
      p: placedOn('free', [{ ...candidate('stuck', {}), feasible: false }, candidate('free', {})]),
      atSiteS: 5000,
    },
  ])('keeps the task: $name', ({ p, atSiteS }) => {
    expect(takeBackChoice(p, 'stuck', atSiteS, settings)).toBeUndefined();
  });

  it('judges staying by the site estimate when that is longer than the wait so far', () => {
    const p = placedOn('free', [
      candidate('stuck', { queueWaitS: 8000, runS: 600 }),
      candidate('free', { runS: 600 }),
    ]);
    expect(takeBackChoice(p, 'stuck', 1000, settings)?.stayS).toBe(8600);
  });

  it('works on a real placement with the task taken off its site', () => {
    // The stuck site is full of the broker's work; the other is empty and can start the task now.
    const stuck = site('stuck', coresHeld({ cores: 8, claimed: 8, claimedMemoryGib: 0, queued: 2 }));
    const free = site('free', coresHeld({ cores: 8, claimed: 0, claimedMemoryGib: 0 }));
    const p = place(request([stuck, free], task({ cpuCores: 4, queuedAt: 1_700_000_000 - 7200 })));
    const choice = takeBackChoice(p, 'stuck', 3600, settings);
    expect(choice?.toSiteId).toBe('free');
    expect(choice!.stayS).toBeGreaterThanOrEqual(3600);
  });
});
