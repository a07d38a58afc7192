import { Terms } from './estimate';
import { PlaceableSite } from './policy';
import { Blocked, Candidate, Placement, SiteSnapshot, Unmet } from './snapshot';

const BLOCKED: readonly (Blocked | undefined)[] = [
  undefined,
  'draining',
  'offline',
  'unknown_health',
  'full',
];
const FEASIBLE = 1;
const PLACEABLE = 2;
/** Flags above these two bits hold the index of the site's Blocked in BLOCKED. */
const BLOCKED_SHIFT = 2;
/** Per site: queueWaitS, transferS, runS, totalS, wanBytes, flags. */
const STRIDE = 6;

/**
 * What one placement found at each site: its terms, whether it is feasible and placeable, and why not. Kept
 * in one array of numbers while the sites are scanned and made into candidates only when the explanation is
 * read: a thousand candidate objects per task (each with a box per number) were a fifth of placement's time
 * in garbage collection, and the simulator and the benchmarks never read them. The numbers are copied at the
 * scan, so the explanation is the decision's even when the caller changes the snapshot before reading it.
 */
export class SiteFindings {
  private readonly sites: readonly SiteSnapshot[];
  /** Filled with a fraction first, so the array holds unboxed doubles from the start. */
  readonly data: number[];
  private unmet: (Unmet[] | undefined)[] | undefined;

  constructor(sites: readonly SiteSnapshot[]) {
    this.sites = sites.slice();
    this.data = new Array<number>(sites.length * STRIDE).fill(0.5);
  }

  record(i: number, terms: Terms, unmet: Unmet[] | undefined, blocked: Blocked | undefined): void {
    const at = i * STRIDE;
    const data = this.data;
    data[at] = terms.queueWaitS;
    data[at + 1] = terms.transferS;
    data[at + 2] = terms.runS;
    data[at + 3] = terms.totalS;
    data[at + 4] = terms.wanBytes;
    if (unmet !== undefined) {
      this.unmet ??= [];
      this.unmet[i] = unmet;
      data[at + 5] = 0;
      return;
    }
    data[at + 5] = FEASIBLE | (blocked === undefined ? PLACEABLE : BLOCKED.indexOf(blocked) << BLOCKED_SHIFT);
  }

  get length(): number {
    return this.sites.length;
  }

  slug(i: number): string {
    return this.sites[i].slug;
  }

  feasible(i: number): boolean {
    return (this.data[i * STRIDE + 5] & FEASIBLE) !== 0;
  }

  blocked(i: number): Blocked | undefined {
    return BLOCKED[this.data[i * STRIDE + 5] >> BLOCKED_SHIFT];
  }

  /** The candidates as place() has always returned them, in the snapshot's site order. */
  candidates(): Candidate[] {
    const out = new Array<Candidate>(this.sites.length);
    const data = this.data;
    for (let i = 0; i < out.length; i++) {
      const at = i * STRIDE;
      const site = this.sites[i];
      const c: Candidate = {
        siteId: site.id,
        slug: site.slug,
        feasible: this.feasible(i),
        placeable: (data[at + 5] & PLACEABLE) !== 0,
        queueWaitS: data[at],
        transferS: data[at + 1],
        runS: data[at + 2],
        totalS: data[at + 3],
        wanBytes: data[at + 4],
      };
      const unmet = this.unmet?.[i];
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
 */
class PlaceableView implements PlaceableSite, Candidate {
  readonly feasible = true;
  readonly placeable = true;

  constructor(
    public site: SiteSnapshot,
    private at: number,
  ) {}

  point(site: SiteSnapshot, index: number): this {
    this.site = site;
    this.at = index * STRIDE;
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
  get queueWaitS(): number {
    return (current as SiteFindings).data[this.at];
  }
  get transferS(): number {
    return (current as SiteFindings).data[this.at + 1];
  }
  get runS(): number {
    return (current as SiteFindings).data[this.at + 2];
  }
  get totalS(): number {
    return (current as SiteFindings).data[this.at + 3];
  }
  get wanBytes(): number {
    return (current as SiteFindings).data[this.at + 4];
  }
}

const views: PlaceableView[] = [];

/** The policy's view of the k-th placeable site, the one at `index` in the snapshot. */
export function placeableView(
  findings: SiteFindings,
  k: number,
  site: SiteSnapshot,
  index: number,
): PlaceableSite {
  current = findings;
  if (k === views.length) views.push(new PlaceableView(site, index * STRIDE));
  return views[k].point(site, index);
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
