import { TERM_RUN, TERM_TRANSFER, TERM_WAIT, TERM_WAN, TERMS, WaitParts, waitFromParts } from './estimate';
import { unmetRequirements } from './feasibility';
import { PlaceableSite } from './policy';
import { ResolvedResources } from './requirements';
import {
  Blocked,
  Candidate,
  Placement,
  RunningTask,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
  Unmet,
} from './snapshot';

/** What the feasibility check of a site is judged for, when its unmet requirements are listed late. */
export interface Judged {
  task: TaskRequirement;
  resources: ResolvedResources;
  submitter: SubmitterSnapshot;
}

/**
 * A site the scan found infeasible without listing why (`SiteFindings.record`): the list is made when the
 * explanation is read. An eighth of the sites cannot run a given task on the benchmark's network, and the
 * texts naming what they lack (numbers formatted into strings) were a twentieth of placement.
 */
export const UNMET_LATER = null;

const BLOCKED: readonly (Blocked | undefined)[] = [
  undefined,
  'draining',
  'offline',
  'unknown_health',
  'full',
];
const FEASIBLE = 1;
const PLACEABLE = 2;
/** The queue wait is still its drain part: the running tasks' floor is found when the wait is read. */
const PENDING = 4;
/** Infeasible, its unmet requirements listed when read (UNMET_LATER): a flag, not an entry in a list. */
const LISTED_LATER = 8;
/** Flags from this bit hold the index of the site's Blocked in BLOCKED (3 bits). */
const BLOCKED_SHIFT = 4;
/** Flags from this bit hold, for a pending wait, where its running tasks and shortfalls are kept. */
const PENDING_SHIFT = 7;
/** A site's numbers: the terms as the scan writes them (TermScan), then the flags. */
const WAIT = TERM_WAIT;
const TRANSFER = TERM_TRANSFER;
const RUN = TERM_RUN;
const WAN = TERM_WAN;
const FLAGS = TERMS;
const STRIDE = TERMS + 1;

/**
 * The running tasks and shortfalls of the pending waits of the scan under way, in lists kept from one scan to
 * the next and copied at its end (SiteFindings.seal): lists that start empty for every placement grew a few
 * times each, and growing them and the placeable sites' list was a twelfth of placement at 1,000 sites.
 */
const pendingRunning: (readonly RunningTask[])[] = [];
const pendingShort: number[] = [];
let pendingCount = 0;

function keepPending(running: readonly RunningTask[], coresShort: number, memoryShortGib: number): void {
  // At the length, an assignment appends.
  pendingRunning[pendingCount] = running;
  pendingShort[2 * pendingCount] = coresShort;
  pendingShort[2 * pendingCount + 1] = memoryShortGib;
  pendingCount++;
}

/**
 * What one placement found at each site: its terms, whether it is feasible and placeable, and why not. Kept
 * in one array of numbers while the sites are scanned and made into candidates only when the explanation is
 * read: a thousand candidate objects per task (each with a box per number) were a fifth of placement's time
 * in garbage collection, and the simulator and the benchmarks never read them. The numbers are copied at the
 * scan, so the explanation is the decision's even when the caller changes the snapshot before reading it.
 * Five numbers per site, as the array is allocated and filled per placement: the total is the sum of the
 * three terms, added in the scan's order (so to the same bit), and what a pending wait needs is kept apart.
 */
export class SiteFindings {
  /** The snapshot's sites as scanned, given at the end of the scan (`seal`). */
  private sites: readonly SiteSnapshot[] = [];
  /**
   * A typed array, not an array of numbers filled with a fraction first (so it held unboxed doubles): every
   * number is written by the scan, and allocating and filling 5,000 elements per placement at 1,000 sites
   * cost 18 ns per site against 10 for the typed array, which needs no fill.
   */
  readonly data: Float64Array;
  /** Per infeasible site whose unmet requirements the scan listed, why. */
  private unmet: (Unmet[] | undefined)[] | undefined;
  /** The running tasks of the sites whose wait is pending, as the scan saw them (lists are immutable). */
  private running: readonly (readonly RunningTask[])[] = [];
  /** Per pending wait, in the order of `running`: the cores and the memory short. */
  private short: readonly number[] = [];

  constructor(
    count: number,
    private readonly now: number,
    private readonly judged?: Judged,
  ) {
    this.data = new Float64Array(count * STRIDE);
    pendingCount = 0;
  }

  /** Where the scan writes the terms of the site at `i` into `data` (`TermScan.terms`). */
  static offset(i: number): number {
    return i * STRIDE;
  }

  /**
   * Records the rest of what the scan found at the site at `i`, whose terms it has written: the running
   * tasks whose ends floor its wait (`TermScan.terms`) with the shortfalls in `parts`, and its feasibility. A
   * wait whose drain part is positive keeps that floor for later (`resolve`): it cannot be 0, so the site
   * cannot start the task now, and most placements choose among sites that can. The running tasks' list is
   * kept, so what is read later is what the scan saw. `unmet` is UNMET_LATER for a site known to be
   * infeasible whose reasons are listed when read: they depend only on the site (immutable but for its load,
   * see SiteSnapshot), the task and the submitter's allowed sites.
   */
  record(
    i: number,
    running: readonly RunningTask[] | undefined,
    parts: WaitParts,
    unmet: Unmet[] | typeof UNMET_LATER | undefined,
    blocked: Blocked | undefined,
  ): void {
    const at = i * STRIDE;
    const data = this.data;
    let pending = 0;
    if (running !== undefined) {
      const drainS = data[at + WAIT];
      if (drainS > 0) {
        pending = PENDING | (pendingCount << PENDING_SHIFT);
        keepPending(running, parts.coresShort, parts.memoryShortGib);
      } else {
        data[at + WAIT] = waitFromParts(drainS, running, parts.coresShort, parts.memoryShortGib, this.now, i);
      }
    }
    if (unmet === UNMET_LATER) {
      data[at + FLAGS] = pending | LISTED_LATER;
      return;
    }
    if (unmet !== undefined) {
      this.unmet ??= [];
      this.unmet[i] = unmet;
      data[at + FLAGS] = pending;
      return;
    }
    data[at + FLAGS] =
      FEASIBLE | pending | (blocked === undefined ? PLACEABLE : BLOCKED.indexOf(blocked) << BLOCKED_SHIFT);
  }

  /**
   * Ends the scan. `sites` are the sites scanned, in a list nobody changes (the findings keep it; placement
   * passes the copy it already keeps of an unchanged snapshot rather than copying a thousand sites again).
   * What the pending waits need is copied from the scan's lists, which the next scan reuses.
   */
  seal(sites: readonly SiteSnapshot[]): void {
    this.sites = sites;
    this.running = pendingRunning.slice(0, pendingCount);
    this.short = pendingShort.slice(0, 2 * pendingCount);
  }

  /** Finds the pending wait of the site at `i`: the larger of its drain part and its running tasks' floor. */
  resolve(i: number): void {
    const at = i * STRIDE;
    const data = this.data;
    const flags = data[at + FLAGS];
    if ((flags & PENDING) === 0) return;
    const k = flags >> PENDING_SHIFT;
    data[at + WAIT] = waitFromParts(
      data[at + WAIT],
      this.running[k],
      this.short[2 * k],
      this.short[2 * k + 1],
      this.now,
      i,
    );
    data[at + FLAGS] = flags & ((1 << PENDING_SHIFT) - 1) & ~PENDING;
  }

  /** The site's queue wait is 0: known without finding a pending floor (a pending wait is above 0). */
  startsNow(i: number): boolean {
    return this.data[i * STRIDE + WAIT] === 0;
  }

  /** A lower bound of the site's total, exact unless its wait is pending. */
  totalFloorS(i: number): number {
    const at = i * STRIDE;
    const data = this.data;
    return data[at + WAIT] + data[at + TRANSFER] + data[at + RUN];
  }

  queueWaitS(i: number): number {
    this.resolve(i);
    return this.data[i * STRIDE + WAIT];
  }

  totalS(i: number): number {
    this.resolve(i);
    return this.totalFloorS(i);
  }

  get length(): number {
    return this.sites.length;
  }

  slug(i: number): string {
    return this.sites[i].slug;
  }

  feasible(i: number): boolean {
    return (this.data[i * STRIDE + FLAGS] & FEASIBLE) !== 0;
  }

  blocked(i: number): Blocked | undefined {
    return BLOCKED[(this.data[i * STRIDE + FLAGS] >> BLOCKED_SHIFT) & 7];
  }

  private unmetAt(i: number, site: SiteSnapshot): Unmet[] | undefined {
    if ((this.data[i * STRIDE + FLAGS] & LISTED_LATER) === 0) return this.unmet?.[i];
    const { task, resources, submitter } = this.judged as Judged;
    return unmetRequirements(site, task, resources, submitter);
  }

  /** The candidates as place() has always returned them, in the snapshot's site order. */
  candidates(): Candidate[] {
    const out = new Array<Candidate>(this.sites.length);
    const data = this.data;
    for (let i = 0; i < out.length; i++) {
      const at = i * STRIDE;
      const site = this.sites[i];
      this.resolve(i);
      const c: Candidate = {
        siteId: site.id,
        slug: site.slug,
        feasible: this.feasible(i),
        placeable: (data[at + FLAGS] & PLACEABLE) !== 0,
        queueWaitS: data[at + WAIT],
        transferS: data[at + TRANSFER],
        runS: data[at + RUN],
        totalS: data[at + WAIT] + data[at + TRANSFER] + data[at + RUN],
        wanBytes: data[at + WAN],
      };
      const unmet = this.unmetAt(i, site);
      if (unmet !== undefined) c.unmet = unmet;
      const blocked = this.blocked(i);
      if (blocked !== undefined) c.blocked = blocked;
      out[i] = c;
    }
    return out;
  }
}

/** The findings of the placement under way, which the policy's views read. */
let current: SiteFindings | undefined;

/**
 * A placeable site as the policy sees it: the site and its candidate's terms, read from the findings of the
 * placement under way rather than copied into an object of its own. Views are reused from one placement to
 * the next and are valid during place() only; what outlives it is the explanation built from the findings.
 * Reading the queue wait or the total finds a pending wait's floor first; `startsNow` and `totalFloorS` do not.
 */
class PlaceableView implements PlaceableSite, Candidate {
  readonly feasible = true;
  readonly placeable = true;

  constructor(
    public site: SiteSnapshot,
    private index: number,
  ) {}

  point(site: SiteSnapshot, index: number): this {
    this.site = site;
    this.index = index;
    return this;
  }

  get candidate(): Candidate {
    return this;
  }
  get siteId(): string {
    return this.site.id;
  }
  get slug(): string {
    return this.site.slug;
  }
  get startsNow(): boolean {
    return (current as SiteFindings).startsNow(this.index);
  }
  get totalFloorS(): number {
    return (current as SiteFindings).totalFloorS(this.index);
  }
  get queueWaitS(): number {
    return (current as SiteFindings).queueWaitS(this.index);
  }
  get transferS(): number {
    return (current as SiteFindings).data[this.index * STRIDE + TRANSFER];
  }
  get runS(): number {
    return (current as SiteFindings).data[this.index * STRIDE + RUN];
  }
  get totalS(): number {
    return (current as SiteFindings).totalS(this.index);
  }
  get wanBytes(): number {
    return (current as SiteFindings).data[this.index * STRIDE + WAN];
  }
}

/** Views kept from one placement to the next, never fewer: emptying a list and filling it again grows it anew. */
const views: PlaceableView[] = [];

/** Points the k-th view at the placeable site at `index` in the snapshot. */
export function placeableView(k: number, site: SiteSnapshot, index: number): void {
  if (k === views.length) views.push(new PlaceableView(site, index));
  else views[k].point(site, index);
}

/**
 * The policy's placeable sites: the first `count` views, in a list of their own, reading `findings`. Set
 * once here, not per view: storing the new findings in the module's context for every site called V8's
 * write barrier each time (a young object stored into an old one).
 */
export function placeableViews(findings: SiteFindings, count: number): PlaceableSite[] {
  current = findings;
  return views.slice(0, count);
}

/**
 * A placement whose `candidates` are built from the findings on first read and kept (dispatch adds each
 * term's sources to them and stores them afterwards); assigning them replaces them. An accessor of the class,
 * not one defined on each placement: defining properties took a tenth of a placement at a hundred sites.
 * `toJSON` writes them with the rest, as the plain placement it replaces was written.
 */
class ExplainedPlacement implements Placement {
  declare decision: Placement['decision'];
  declare siteId?: string;
  declare reservation?: Placement['reservation'];
  declare reason?: string;
  readonly #findings: SiteFindings;
  #candidates: Candidate[] | undefined;

  constructor(decided: Omit<Placement, 'candidates'>, findings: SiteFindings, built?: Candidate[]) {
    Object.assign(this, decided);
    this.#findings = findings;
    this.#candidates = built;
  }

  get candidates(): Candidate[] {
    return (this.#candidates ??= this.#findings.candidates());
  }

  set candidates(value: Candidate[]) {
    this.#candidates = value;
  }

  toJSON(): Placement {
    return { ...this, candidates: this.candidates };
  }
}

export function explained(
  decided: Omit<Placement, 'candidates'>,
  findings: SiteFindings,
  built?: Candidate[],
): Placement {
  return new ExplainedPlacement(decided, findings, built);
}
