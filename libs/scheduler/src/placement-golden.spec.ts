import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { place } from './placement';
import { POLICY_NAMES, PolicyContext, PolicyName } from './policy';
import { mulberry32 } from './prng';
import { resolveResources } from './requirements';
import { updateReservations } from './reservation';
import { Candidate, Placement, SiteSnapshot } from './snapshot';
import { randomNetwork } from './testing/random-network';

/**
 * Placement's speed work must not move a decision nor what its explanation shows. The fixture holds, for a
 * seeded network placed task by task (each placement counted against the snapshot before the next, as
 * dispatch does), every decision and reason, the top candidates as the console ranks them, and a digest of
 * all candidates; it was written by the placement code before that work. To write it again after an
 * intended change of decisions: PLACEMENT_GOLDEN=write npx jest libs/scheduler/src/placement-golden.spec.ts, then
 * npx prettier --write libs/scheduler/src/testing/placement-golden.json
 */
const FIXTURE = path.join(__dirname, 'testing', 'placement-golden.json');

/** The console's order: placeable sites first, then feasible, then the rest, each by estimated completion. */
function rank(c: Candidate): number {
  return c.placeable ? 0 : c.feasible ? 1 : 2;
}

function top(candidates: readonly Candidate[], n: number): Candidate[] {
  return [...candidates]
    .sort((a, b) => rank(a) - rank(b) || a.totalS - b.totalS || (a.siteId < b.siteId ? -1 : 1))
    .slice(0, n);
}

interface Recorded {
  task: string;
  policy: PolicyName;
  decision: Placement['decision'];
  siteId?: string;
  reason?: string;
  reservation?: Placement['reservation'];
  top: Candidate[];
  digest: string;
}

function record(taskId: string, policy: PolicyName, p: Placement): Recorded {
  const r: Recorded = { task: taskId, policy, decision: p.decision, top: top(p.candidates, 3), digest: '' };
  if (p.siteId !== undefined) r.siteId = p.siteId;
  if (p.reason !== undefined) r.reason = p.reason;
  if (p.reservation !== undefined) r.reservation = p.reservation;
  r.digest = createHash('sha256').update(JSON.stringify(p.candidates)).digest('hex').slice(0, 16);
  return r;
}

/** Counts a placement against its site as dispatch's round does: one more queued task and its resources. */
function countOn(
  sites: readonly SiteSnapshot[],
  siteId: string,
  p: ReturnType<typeof resolveResources>,
): void {
  const site = sites.find((s) => s.id === siteId) as SiteSnapshot;
  site.load.queued++;
  const claimed = site.load.claimed;
  if (claimed !== undefined) {
    site.load.claimed = {
      cores: claimed.cores + p.cores,
      memoryGib: claimed.memoryGib + p.memoryGib,
      gpus: claimed.gpus + p.gpus,
    };
  }
}

function decisions(): Recorded[] {
  const net = randomNetwork(mulberry32(18), 150, 360);
  const contexts = new Map<PolicyName, PolicyContext>(POLICY_NAMES.map((p) => [p, { prng: mulberry32(7) }]));
  let sites = net.sites;
  return net.tasks.map((task, i) => {
    // Mostly the default policy; every third task one of the others, in turn.
    const policy: PolicyName = i % 3 === 0 ? POLICY_NAMES[(i / 3) % POLICY_NAMES.length] : 'ect';
    // Rounds of 20 tasks share a time, as dispatch's do; between rounds some running tasks end.
    const now = 10_000 + Math.floor(i / 20) * 450;
    if (i % 20 === 0 && i > 0) {
      for (const s of sites) {
        const running = s.load.runningTasks;
        if (running !== undefined && running.length > 0 && s.id.endsWith(String(i % 3)))
          s.load.runningTasks = running.slice(1);
      }
    }
    // Snapshots out of id order, now and then.
    if (i % 90 === 45) sites = [...sites].reverse();
    const submitter = net.submitters[i % 7 === 3 ? 1 : i % 11 === 5 ? 2 : 0];
    const placement = place(
      { now, sites, dataStores: net.stores, task, submitter },
      { policy, context: contexts.get(policy) },
    );
    const recorded = record(task.id, policy, placement);
    updateReservations(sites, task.id, placement);
    if (placement.decision === 'place') countOn(sites, placement.siteId as string, resolveResources(task));
    return recorded;
  });
}

describe('placement on a seeded random network', () => {
  const got = decisions();

  if (process.env.PLACEMENT_GOLDEN === 'write') {
    fs.writeFileSync(FIXTURE, `[\n${got.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`);
  }

  it('covers every kind of decision and every policy', () => {
    const kinds = new Set(got.map((r) => `${r.policy} ${r.decision}`));
    for (const policy of POLICY_NAMES) expect(kinds).toContain(`${policy} place`);
    expect(kinds).toContain('ect wait');
    expect(kinds).toContain('ect infeasible');
    expect(got.some((r) => r.reservation !== undefined)).toBe(true);
  });

  it('decides and explains as the recorded placements did', () => {
    const want = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Recorded[];
    expect(got).toHaveLength(want.length);
    got.forEach((r, i) => expect(r).toEqual(want[i]));
  });
});
