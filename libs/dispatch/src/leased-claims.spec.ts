import type { AbandonedCopy } from './abandoned-copy.repository';
import type { DispatchTask } from '@constellation/tes';
import {
  abandonedCopyClaims,
  LeasedClaims,
  pushedClaims,
  SiteChecks,
  siteCheckClaims,
  SiteWalk,
  siteWalkClaims,
  workEachClaimed,
} from './leased-claims';

describe('the claim loop', () => {
  it("hands each piece of work the lease of its own row, and leaves a failed row's lease alone", async () => {
    const due = ['a', 'b', 'c'];
    const calls: string[] = [];
    const claims: LeasedClaims<string> = {
      claim: async () => due.shift(),
      renew: async (row) => {
        calls.push(`renew ${row}`);
        return row !== 'b';
      },
      release: async (row) => void calls.push(`release ${row}`),
    };
    const failed: string[] = [];
    const taken = await workEachClaimed(
      claims,
      1,
      10,
      async (row, lease) => {
        if (row === 'c') throw new Error('site answered nonsense');
        if (!(await lease.renew())) await lease.release();
      },
      (row) => failed.push(row),
    );
    expect(taken).toBe(3);
    expect(calls).toEqual(['renew a', 'renew b', 'release b']);
    expect(failed).toEqual(['c']);
  });
});

describe('the claim sources of tracking and abandoned copies', () => {
  it('claims the walks of listed sites in order, passing over those another replica walks', async () => {
    const calls: string[] = [];
    const claims = siteWalkClaims(
      {
        claimWalk: async (siteId) => (siteId === 'b' ? null : { intervalMs: siteId === 'a' ? 4000 : null }),
        renewWalk: async (siteId, replica) => {
          calls.push(`renew ${siteId} ${replica}`);
          return siteId === 'a';
        },
        releaseWalk: async (siteId, replica) => void calls.push(`release ${siteId} ${replica}`),
      },
      'replica-a',
      30,
      ['a', 'b', 'c'],
    );
    const walked: SiteWalk[] = [];
    const taken = await workEachClaimed(
      claims,
      2,
      10,
      async (walk, lease) => {
        walked.push(walk);
        if (!(await lease.renew())) await lease.release();
      },
      () => undefined,
    );
    expect(taken).toBe(2);
    expect(walked).toEqual([
      { siteId: 'a', intervalMs: 4000 },
      { siteId: 'c', intervalMs: null },
    ]);
    expect(calls.sort()).toEqual(['release c replica-a', 'renew a replica-a', 'renew c replica-a']);
  });

  it("claims each asked site's due tasks together, passing over a site with none, and renews only a whole claim", async () => {
    const check = (id: string) => ({ task: { id } as DispatchTask, version: 1 });
    const asked: string[] = [];
    const lost = new Set(['t3']);
    const deferred: string[] = [];
    const claims = siteCheckClaims(
      {
        claimSite: async (siteId, _replica, dueBy, _lease, limit) => {
          asked.push(`${siteId} by ${dueBy.toISOString()} at most ${limit}`);
          return siteId === 'empty' ? [] : siteId === 'x' ? [check('t1'), check('t2')] : [check('t3')];
        },
      },
      {
        renewLease: async (id) => !lost.has(id),
        defer: async (_replica, checks) => void deferred.push(...checks.map((c) => c.id)),
      },
      'replica-a',
      30,
      [
        { siteId: 'empty', dueBy: new Date(0) },
        { siteId: 'x', dueBy: new Date(0) },
        { siteId: 'y', dueBy: new Date(0) },
      ],
      2000,
    );
    const x = await claims.claim();
    expect(x?.siteId).toBe('x');
    expect(x?.checks.map((c) => c.task.id)).toEqual(['t1', 't2']);
    const y = await claims.claim();
    expect(y?.siteId).toBe('y');
    expect(await claims.claim()).toBeUndefined();
    expect(asked).toEqual([
      'empty by 1970-01-01T00:00:00.000Z at most 2000',
      'x by 1970-01-01T00:00:00.000Z at most 2000',
      'y by 1970-01-01T00:00:00.000Z at most 2000',
    ]);
    expect(await claims.renew(x as SiteChecks)).toBe(true);
    expect(await claims.renew(y as SiteChecks)).toBe(false);
    await claims.release(x as SiteChecks);
    expect(deferred).toEqual(['t1', 't2']);
  });

  it('claims the task a pushed update is about once, and says why none was claimed', async () => {
    let asked = 0;
    const pushed = (found: DispatchTask[] | 'busy' | 'none') =>
      pushedClaims(
        {
          claimPushed: async () => {
            asked++;
            return found;
          },
          renewLease: async () => true,
          releaseClaim: async () => undefined,
        },
        'job-1',
        'replica-a',
        30,
      );
    const applied: string[] = [];
    const claims = pushed([{ id: 't1' } as DispatchTask]);
    expect(
      await workEachClaimed(
        claims,
        1,
        Infinity,
        async (task) => void applied.push(task.id),
        () => undefined,
      ),
    ).toBe(1);
    expect(applied).toEqual(['t1']);
    expect(asked).toBe(1);
    expect(claims.missed()).toBeUndefined();

    for (const miss of ['busy', 'none'] as const) {
      const none = pushed(miss);
      expect(
        await workEachClaimed(
          none,
          1,
          Infinity,
          async () => undefined,
          () => undefined,
        ),
      ).toBe(0);
      expect(none.missed()).toBe(miss);
    }
  });

  it('claims abandoned copies away from offline sites, renewing and releasing each by its id', async () => {
    const calls: string[] = [];
    const due: AbandonedCopy[] = [{ id: 'c1' } as AbandonedCopy];
    const claims = abandonedCopyClaims(
      {
        claim: async (replica, _now, lease, limit, offline) => {
          calls.push(`claim ${replica} ${lease} ${limit} skipping ${offline.join(',')}`);
          return due.splice(0, limit);
        },
        renew: async (id, replica, lease) => {
          calls.push(`renew ${id} ${replica} ${lease}`);
          return false;
        },
        release: async (id, replica) => void calls.push(`release ${id} ${replica}`),
      },
      'replica-a',
      30,
      ['dead-site'],
    );
    await workEachClaimed(
      claims,
      1,
      10,
      async (_copy, lease) => {
        if (!(await lease.renew())) await lease.release();
      },
      () => undefined,
    );
    expect(calls).toEqual([
      'claim replica-a 30 1 skipping dead-site',
      'renew c1 replica-a 30',
      'release c1 replica-a',
      'claim replica-a 30 1 skipping dead-site',
    ]);
  });
});
