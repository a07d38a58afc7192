import { distanceTables, groupInputsByStore, TermScan } from './estimate';
import { blockedReason, unmetRequirements } from './feasibility';
import { explained, placeableView, placeableViews, SiteFindings, UNMET_LATER } from './findings';
import { ectPolicy } from './policies/ect.policy';
import { leastLoadedPolicy } from './policies/least-loaded.policy';
import { localityPolicy } from './policies/locality.policy';
import { randomPolicy } from './policies/random.policy';
import { roundRobinPolicy } from './policies/round-robin.policy';
import { tpvBrokerPolicy } from './policies/tpv-broker.policy';
import { DEFAULT_POLICY, PlaceableSite, Policy, PolicyContext, PolicyName } from './policy';
import { mulberry32 } from './prng';
import { resolveResources } from './requirements';
import { feasibleByRow, infeasibleByRow, isApprovedRow, SiteTable, taskScreen } from './site-table';
import {
  Candidate,
  CostModel,
  DataStoreSnapshot,
  DEFAULT_COST_MODEL,
  Placement,
  PlacementRequest,
  SiteSnapshot,
} from './snapshot';

/** Each policy by its name (POLICY_NAMES). */
export const POLICY_BY_NAME: Readonly<Record<PolicyName, Policy>> = Object.freeze({
  ect: ectPolicy,
  random: randomPolicy,
  'round-robin': roundRobinPolicy,
  'least-loaded': leastLoadedPolicy,
  locality: localityPolicy,
  'tpv-broker': tpvBrokerPolicy,
});

export interface PlaceOptions {
  policy?: PolicyName;
  /** Required by `random`; the others never draw from it. */
  context?: PolicyContext;
}

/** How many sites an infeasibility reason names before it summarises the rest. */
const REASON_SITES = 8;

const storeCache = new WeakMap<readonly DataStoreSnapshot[], Map<string, DataStoreSnapshot>>();

function storesById(stores: readonly DataStoreSnapshot[]): Map<string, DataStoreSnapshot> {
  // Dispatch and the simulator place many tasks against one snapshot; indexing its stores once is enough.
  let map = storeCache.get(stores);
  if (!map) {
    map = new Map(stores.map((s) => [s.id, s]));
    storeCache.set(stores, map);
  }
  return map;
}

function isApproved(site: SiteSnapshot): boolean {
  return site.adminState === 'active' || site.adminState === 'draining';
}

/** Requirements that say the task did not ask for this site at all, rather than why the site cannot run it. */
const NOT_CHOSEN: ReadonlySet<string> = new Set(['zone', 'pinned_site', 'not_allowed', 'excluded']);

/** Sites the task asked for first, then those with fewest unmet requirements: they explain the failure best. */
function relevance(c: Candidate): number {
  const unmet = c.unmet ?? [];
  return (unmet.some((u) => NOT_CHOSEN.has(u.requirement)) ? 1000 : 0) + unmet.length;
}

function infeasibleReason(candidates: readonly Candidate[], sites: readonly SiteSnapshot[]): string {
  const judged = candidates
    .filter((_, i) => isApproved(sites[i]))
    .map((c, i) => ({ c, i }))
    .sort((a, b) => relevance(a.c) - relevance(b.c) || a.i - b.i)
    .map(({ c }) => c);
  const parts = judged
    .slice(0, REASON_SITES)
    .map((c) => `${c.slug}: ${(c.unmet ?? []).map((u) => `${u.requirement} (${u.detail})`).join(', ')}`);
  const more = judged.length > REASON_SITES ? `; and ${judged.length - REASON_SITES} more` : '';
  return `no active or draining site can ever run this task: ${parts.join('; ')}${more}`;
}

/**
 * Names the first few feasible sites and counts the rest: a task held at a thousand sites must not build a
 * thousand strings to keep five (the held share grows with load, and so did placement's garbage).
 */
function waitReason(findings: SiteFindings): string {
  const named: string[] = [];
  let feasible = 0;
  for (let i = 0; i < findings.length; i++) {
    if (!findings.feasible(i)) continue;
    if (feasible++ < REASON_SITES)
      named.push(`${findings.slug(i)}: ${findings.blocked(i) ?? 'held by policy'}`);
  }
  return `no feasible site can take the task now (${named.join(', ')}${
    feasible > REASON_SITES ? `, and ${feasible - REASON_SITES} more` : ''
  })`;
}

/**
 * Whether a snapshot's sites are in id order, remembered with the sites it was judged on. Snapshots usually
 * list sites in id order already, and then so are the placeable ones; comparing a thousand ids per task took a
 * twentieth of placement, and dispatch's and the simulator's rounds place many tasks against one list. The
 * scan checks the remembered sites as it goes (one may have been replaced in the list; ids never change).
 */
const idOrderOf = new WeakMap<readonly SiteSnapshot[], { sites: SiteSnapshot[]; ordered: boolean }>();

/** `scanned`: a copy of `sites` that nobody changes (the findings keep it too). */
function judgeIdOrder(sites: readonly SiteSnapshot[], scanned: SiteSnapshot[]): boolean {
  let ordered = true;
  for (let i = 1; i < scanned.length && ordered; i++) ordered = scanned[i - 1].id <= scanned[i].id;
  idOrderOf.set(sites, { sites: scanned, ordered });
  return ordered;
}

function byId(a: PlaceableSite, b: PlaceableSite): number {
  return a.site.id < b.site.id ? -1 : a.site.id > b.site.id ? 1 : 0;
}

/** Each site's row of what placement derives from it apart from its load, by its place in the snapshot. */
const siteTable = new SiteTable();

/** The scan of each placement's task, reused. */
const scan = new TermScan();

/**
 * Places one task: every site is judged for its unmet requirements and its estimate terms, then the policy
 * chooses among the feasible sites that can take the task now. Pure: the same request, options and PRNG state
 * give the same placement. Candidates come back in the snapshot's site order, built when first read; the
 * sites (but their load), the task and the submitter's allowed sites are read as they were until then.
 */
export function place(request: PlacementRequest, options: PlaceOptions = {}): Placement {
  const model: CostModel = request.model ? { ...DEFAULT_COST_MODEL, ...request.model } : DEFAULT_COST_MODEL;
  const { task, submitter, sites } = request;
  const resources = resolveResources(task);
  const groups = groupInputsByStore(task, storesById(request.dataStores));
  const terms = scan.start(
    task,
    resources,
    groups,
    model,
    request.now,
    distanceTables(groups, model),
    sites.length,
  );

  const findings = new SiteFindings(sites.length, request.now, { task, resources, submitter });
  const screen = taskScreen(task, resources, submitter);
  let placeableCount = 0;
  const known = idOrderOf.get(sites);
  let knownSites = known?.sites.length === sites.length ? known.sites : undefined;
  let anyApproved = false;
  let anyFeasible = false;
  for (let i = 0; i < sites.length; i++) {
    const site = sites[i];
    if (knownSites !== undefined && knownSites[i] !== site) knownSites = undefined;
    const at = siteTable.at(i, site);
    const row = siteTable.numbers;
    if (isApprovedRow(row, at)) anyApproved = true;
    const unmet = feasibleByRow(row, at, screen)
      ? undefined
      : infeasibleByRow(row, at, screen)
        ? UNMET_LATER
        : unmetRequirements(site, task, resources, submitter);
    const blocked = unmet === undefined ? blockedReason(site, model) : undefined;
    if (unmet === undefined) anyFeasible = true;
    const running = terms.terms(site, row, at, i, findings.data, SiteFindings.offset(i));
    findings.record(i, running, terms, unmet, blocked);
    if (unmet === undefined && blocked === undefined) {
      placeableView(placeableCount++, site, i);
    }
  }
  const scanned = knownSites ?? sites.slice();
  findings.seal(scanned);

  if (!anyApproved) {
    return explained({ decision: 'wait', reason: 'no site is registered and approved yet' }, findings);
  }
  if (!anyFeasible) {
    const candidates = findings.candidates();
    return explained(
      { decision: 'infeasible', reason: infeasibleReason(candidates, sites) },
      findings,
      candidates,
    );
  }
  if (submitter.quota !== null && submitter.running >= submitter.quota) {
    return explained(
      {
        decision: 'wait',
        reason: `submitter ${submitter.id} has ${submitter.running} running tasks, its quota is ${submitter.quota}`,
      },
      findings,
    );
  }
  if (placeableCount === 0) {
    return explained({ decision: 'wait', reason: waitReason(findings) }, findings);
  }

  const placeable = placeableViews(findings, placeableCount);
  const ordered =
    known !== undefined && knownSites !== undefined ? known.ordered : judgeIdOrder(sites, scanned);
  if (!ordered) placeable.sort(byId);
  const policy = POLICY_BY_NAME[options.policy ?? DEFAULT_POLICY];
  const context = options.context ?? { prng: mulberry32(0) };
  const chosen = policy({ now: request.now, task, resources, groups, model, placeable }, context);
  if (chosen === undefined) {
    return explained({ decision: 'wait', reason: waitReason(findings) }, findings);
  }
  if ('reserve' in chosen) {
    const siteId = chosen.reserve.site.id;
    const { cores, memoryGib, gpus } = resources;
    return explained(
      {
        decision: 'wait',
        reason: `${waitReason(findings)}; reserved ${chosen.reserve.site.slug} from ${new Date(chosen.startAt * 1000).toISOString()}`,
        reservation: { siteId, taskId: task.id, cores, memoryGib, gpus, startAt: chosen.startAt },
      },
      findings,
    );
  }
  return explained({ decision: 'place', siteId: chosen.site.id }, findings);
}
