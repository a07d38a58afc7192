import { statusRound } from '../status-round';
import type { Dispatcher } from 'undici';
import {
  AdapterError,
  ATTEMPT_TAG,
  TASK_TAG,
  type AdapterSite,
  type ProbeResult,
  type RemoteRef,
  type RemoteStatus,
  type SiteAdapter,
  type SiteSchemes,
  type SubmitJob,
} from '../site-adapter';
import { oneLine } from '../http/bounded-text';
import { probeFailure } from '../http/probe-failure';
import { remoteDocument } from './tes-document';
import { describeCall, TesDiscovery } from './tes-discovery';
import {
  remoteMessage,
  send,
  statusFailure,
  targetOf,
  type HttpReply,
  type TesTarget,
} from '../http/site-http';
import {
  parseCreateResponse,
  parseJson,
  parseStatusPage,
  parseTaskPage,
  parseTaskStatus,
  type ServiceInfo,
  type StatusPage,
} from './tes-responses';

export interface TesSiteAdapterOptions {
  /** Bound on each HTTP exchange with a site, connection to last byte. Default 10 s. */
  timeoutMs?: number;
  /** How long a site's storage schemes are reused before service-info is read again. Default 5 min. */
  schemesTtlMs?: number;
  /** The undici dispatcher (connection pool) to use; the global one when absent. */
  dispatcher?: Dispatcher;
  /** Milliseconds since the epoch; injectable for cache tests. */
  now?: () => number;
  /** Tasks per page of the status list. Default 500. */
  listPageSize?: number;
  /** Tasks per page of the FULL list that reads ended tasks' logs. Default 50. */
  fullPageSize?: number;
}

/** Requests in flight per site when tasks are asked about one by one: enough to keep up, few enough not to flood a site. */
const STATUS_CONCURRENCY = 8;
/** Tasks per page of a status list (TES allows 2047; a BASIC task carries its whole request). */
const LIST_PAGE_SIZE = 500;
/**
 * Pages a status list reads at most: the site lists every task of ours it still keeps, finished ones too;
 * a task not found in them is asked about alone.
 */
const MAX_LIST_PAGES = 20;
/** States after which the site's FULL view (stdout, stderr, system logs) is read once, for the final record. */
const FINAL_STATES = new Set<string>(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);
/**
 * A walk that finds at least this many ended tasks reads their logs from the site's list in the FULL view,
 * filtered by state, rather than one FULL read each: for fewer, the reads alone cost about as many calls.
 */
const FULL_LIST_MIN_ENDED = 3;
/**
 * Tasks per page of that FULL list. Each carries its executors' stdout and stderr (a site may keep megabytes),
 * so pages are small: one page's body is held at a time, and one over MAX_BODY_BYTES ends the list there.
 */
const FULL_PAGE_SIZE = 50;
/** Pages of the FULL list read at most per walk; the ended tasks not found on them are read alone. */
const MAX_FULL_PAGES = 10;
/** A TES 1.0 server ignores tag filters and lists every task: we read at most this many pages of it. */
const MAX_FIND_PAGES = 5;
/** A FULL task carries executor logs; real servers already cut them, so this only stops a runaway body. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A matching task in these states was cancelled by us: a resubmission must not adopt it. */
const CANCELLED_STATES = new Set<string>(['CANCELED', 'CANCELING']);

/** Forwards tasks to GA4GH TES 1.1 servers (Funnel, TESK, another Constellation). */
export class TesSiteAdapter implements SiteAdapter {
  readonly kind = 'tes' as const;
  readonly brokerChosenIds = false;
  readonly statusMode = 'listed' as const;

  private readonly timeoutMs: number;
  private readonly schemesTtlMs: number;
  private readonly dispatcher?: Dispatcher;
  private readonly now: () => number;
  private readonly listPageSize: number;
  private readonly fullPageSize: number;
  private readonly discovery: TesDiscovery;
  private readonly schemesCache = new Map<string, { schemes: SiteSchemes; at: number }>();

  constructor(options: TesSiteAdapterOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.schemesTtlMs = options.schemesTtlMs ?? 5 * 60_000;
    this.dispatcher = options.dispatcher;
    this.now = options.now ?? Date.now;
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
    this.fullPageSize = options.fullPageSize ?? FULL_PAGE_SIZE;
    this.discovery = new TesDiscovery((target, method, url, json) =>
      this.exchange(target, method, url, json),
    );
  }

  async probe(site: AdapterSite): Promise<ProbeResult> {
    try {
      const target = targetOf(site);
      const reading = await this.discovery.read(target);
      this.rememberSchemes(target, reading.info);
      return { ok: true, latencyMs: reading.latencyMs, version: reading.info.version };
    } catch (err) {
      return probeFailure(err);
    }
  }

  async schemes(site: AdapterSite): Promise<SiteSchemes> {
    const target = targetOf(site);
    const cached = this.schemesCache.get(target.key);
    if (cached && this.now() - cached.at < this.schemesTtlMs) return cached.schemes;
    const reading = await this.discovery.read(target);
    return this.rememberSchemes(target, reading.info);
  }

  async submit(site: AdapterSite, job: SubmitJob): Promise<RemoteRef> {
    const existing = job.firstSend === true ? null : await this.find(site, job.taskId, job.attempt);
    if (existing !== null) return existing;
    const target = targetOf(site);
    const url = `${await this.discovery.base(target)}/tasks`;
    const what = describeCall('POST', url);
    // From here on a failure may leave a copy at the site that we have no id for: say so (inDoubt), so
    // dispatch looks for it before it sends the attempt again.
    const reply = await this.exchange(target, 'POST', url, remoteDocument(job));
    if (reply.status >= 200 && reply.status < 300) {
      try {
        return parseCreateResponse(parseJson(reply.text, what, target.secrets), what);
      } catch (err) {
        throw err instanceof AdapterError ? new AdapterError(err.kind, err.message, { inDoubt: true }) : err;
      }
    }
    if (reply.status === 400 || reply.status === 422) {
      const said = remoteMessage(reply.text, target.secrets);
      throw new AdapterError('rejected', `${what}: HTTP ${reply.status}${said ? `: ${said}` : ''}`);
    }
    const failure = statusFailure(reply, what, target.secrets);
    // A 5xx or 408 may come from a proxy that gave up while the site went on creating the task.
    const inDoubt = reply.status >= 500 || reply.status === 408;
    throw inDoubt ? new AdapterError(failure.kind, failure.message, { inDoubt }) : failure;
  }

  /** The newest copy of the attempt: after a race between submitters, the one still watched. */
  async find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null> {
    const listed = await this.copies(site, taskId, attempt);
    return listed.length === 0 ? null : listed[listed.length - 1];
  }

  /**
   * Lists by the two tags, then checks them again on each task: a TES 1.0 server ignores tag filters and
   * answers with every task it has. Oldest first, by creation time, then by the order the site listed them.
   */
  async copies(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef[]> {
    const target = targetOf(site);
    const base = await this.discovery.base(target);
    const wantAttempt = String(attempt);
    const found: { id: string; createdAt: number }[] = [];
    let pageToken: string | null = null;
    for (let page = 0; page < MAX_FIND_PAGES; page++) {
      // Repeated keys, zipped by position (TES 1.1 ListTasks): {task: id, attempt: n}.
      const query = new URLSearchParams([
        ['tag_key', TASK_TAG],
        ['tag_value', taskId],
        ['tag_key', ATTEMPT_TAG],
        ['tag_value', wantAttempt],
        ['view', 'BASIC'],
      ]);
      if (pageToken !== null) query.append('page_token', pageToken);
      const url = `${base}/tasks?${query.toString()}`;
      const what = describeCall('GET', url);
      const reply = await this.exchange(target, 'GET', url);
      if (reply.status !== 200) throw statusFailure(reply, what, target.secrets);
      const listed = parseTaskPage(parseJson(reply.text, what, target.secrets), what);
      for (const task of listed.tasks) {
        if (task.tags[TASK_TAG] !== taskId || task.tags[ATTEMPT_TAG] !== wantAttempt) continue;
        if (CANCELLED_STATES.has(task.state)) continue;
        if (!found.some((f) => f.id === task.id)) {
          found.push({ id: task.id, createdAt: task.createdAt ?? -Infinity });
        }
      }
      if (listed.nextPageToken === null) break;
      pageToken = listed.nextPageToken;
    }
    // A stable sort keeps the site's own order among copies created in the same instant.
    return found.sort((a, b) => a.createdAt - b.createdAt).map((f) => f.id);
  }

  /**
   * One paged list of the broker's tasks at the site (by the `constellation.task` tag, BASIC view) answers for
   * every task still on its way. Tasks that have ended need their logs (FULL view): a few are read alone, more
   * are read from the same list in the FULL view filtered by their state, and those it does not show are read
   * alone too. A task not in the BASIC pages read is read alone (its status, or the site's 404). One task alone
   * is read directly. A site whose list fails otherwise than by being down is asked task by task, as before
   * lists were used.
   */
  async status(
    site: AdapterSite,
    refs: readonly RemoteRef[],
  ): Promise<Map<RemoteRef, RemoteStatus | AdapterError>> {
    if (refs.length === 0) return new Map();
    const target = targetOf(site);
    const base = await this.discovery.base(target);
    const wanted = new Set(refs);
    // A list page saves calls only while it stands for more than one task: never more pages than tasks less
    // one, so a round never costs more calls than asking task by task would.
    const pages = Math.min(MAX_LIST_PAGES, wanted.size - 1);
    let listed = new Map<string, RemoteStatus>();
    try {
      if (pages > 0) {
        const query = { view: 'BASIC', pageSize: this.listPageSize, maxPages: pages } as const;
        listed = await this.listStatuses(target, base, wanted, query);
      }
    } catch (err) {
      if (isDown(err)) throw err;
    }
    const result = new Map<RemoteRef, RemoteStatus | AdapterError>();
    const ended: RemoteRef[] = [];
    let alone: RemoteRef[] = [];
    for (const ref of wanted) {
      const status = listed.get(ref);
      if (status === undefined) alone.push(ref);
      else if (FINAL_STATES.has(status.state)) ended.push(ref);
      else result.set(ref, status);
    }
    if (ended.length >= FULL_LIST_MIN_ENDED) {
      const full = await this.endedStatuses(target, base, ended, listed);
      if (full instanceof AdapterError) {
        if (full.kind === 'auth_failed') throw full;
        // The BASIC list answered: the site is up, and only these went unanswered.
        for (const ref of ended) result.set(ref, full);
      } else {
        for (const ref of ended) {
          const status = full.get(ref);
          if (status === undefined) alone.push(ref);
          else result.set(ref, status);
        }
      }
    } else {
      alone = [...alone, ...ended];
    }
    if (alone.length === 0) return result;
    try {
      const read = await statusRound(alone, STATUS_CONCURRENCY, (ref) => this.statusOne(target, base, ref));
      for (const [ref, status] of read) result.set(ref, status);
    } catch (err) {
      // The list answered for the others: the site is up, and only these went unanswered.
      if (result.size === 0 || !(err instanceof AdapterError) || err.kind === 'auth_failed') throw err;
      for (const ref of alone) result.set(ref, err);
    }
    return result;
  }

  /**
   * The ended tasks' FULL statuses from the site's list, one state at a time (most share one, COMPLETE), in at
   * most one page fewer than there are tasks, so it never costs more calls than reading each alone. What a
   * failing page leaves unfound is read alone; an AdapterError when the site is down or refuses us.
   */
  private async endedStatuses(
    target: TesTarget,
    base: string,
    ended: readonly RemoteRef[],
    basic: ReadonlyMap<string, RemoteStatus>,
  ): Promise<Map<string, RemoteStatus> | AdapterError> {
    const byState = new Map<string, Set<string>>();
    for (const ref of ended) {
      const state = (basic.get(ref) as RemoteStatus).state;
      byState.set(state, (byState.get(state) ?? new Set()).add(ref));
    }
    const found = new Map<string, RemoteStatus>();
    let pagesLeft = Math.min(MAX_FULL_PAGES, ended.length - 1);
    // Largest group first: the pages go where they stand for the most reads.
    for (const [state, refs] of [...byState].sort((a, b) => b[1].size - a[1].size)) {
      if (refs.size < 2 || pagesLeft === 0) break;
      const query = { view: 'FULL', state, pageSize: this.fullPageSize, maxPages: pagesLeft } as const;
      try {
        const listed = await this.listStatuses(target, base, refs, query, () => pagesLeft--);
        for (const [id, status] of listed) found.set(id, status);
      } catch (err) {
        if (isDown(err)) return err as AdapterError;
        // A site that refuses the FULL view or the state filter, or a page over the size bound: the
        // rest are read alone.
        break;
      }
    }
    return found;
  }

  /**
   * The wanted tasks' statuses from the site's list of the broker's tasks, page by page until all are found.
   * A page that fails after others answered keeps what they found; `onPage` counts each page asked for.
   */
  private async listStatuses(
    target: TesTarget,
    base: string,
    wanted: ReadonlySet<string>,
    list: ListQuery,
    onPage?: () => void,
  ): Promise<Map<string, RemoteStatus>> {
    const found = new Map<string, RemoteStatus>();
    let pageToken: string | null = null;
    for (let page = 0; page < list.maxPages && found.size < wanted.size; page++) {
      const query = new URLSearchParams([
        ['tag_key', TASK_TAG],
        ['view', list.view],
        ['page_size', String(list.pageSize)],
      ]);
      if (list.state !== undefined) query.append('state', list.state);
      if (pageToken !== null) query.append('page_token', pageToken);
      const url = `${base}/tasks?${query.toString()}`;
      const what = describeCall('GET', url);
      onPage?.();
      let listed: StatusPage;
      try {
        const reply = await this.exchange(target, 'GET', url);
        if (reply.status !== 200) throw statusFailure(reply, what, target.secrets);
        listed = parseStatusPage(parseJson(reply.text, what, target.secrets), wanted, what, list.view);
      } catch (err) {
        if (page === 0 || isDown(err)) throw err;
        break;
      }
      for (const [id, status] of listed.statuses) found.set(id, status);
      if (listed.nextPageToken === null) break;
      pageToken = listed.nextPageToken;
    }
    return found;
  }

  /** Never throws: each ref's failure is its own, and status() decides whether the whole site failed. */
  private async statusOne(
    target: TesTarget,
    base: string,
    ref: RemoteRef,
  ): Promise<RemoteStatus | AdapterError> {
    const url = `${base}/tasks/${encodeURIComponent(ref)}?view=FULL`;
    const what = describeCall('GET', url);
    try {
      const reply = await this.exchange(target, 'GET', url);
      if (reply.status === 404)
        return new AdapterError('lost', `${what}: the site no longer knows this task`);
      if (reply.status !== 200) return statusFailure(reply, what, target.secrets);
      return parseTaskStatus(parseJson(reply.text, what, target.secrets), ref, what);
    } catch (err) {
      if (err instanceof AdapterError) return err;
      return new AdapterError('protocol_error', `${what}: ${oneLine(String(err), 200, target.secrets)}`);
    }
  }

  async cancel(site: AdapterSite, ref: RemoteRef): Promise<void> {
    const target = targetOf(site);
    const url = `${await this.discovery.base(target)}/tasks/${encodeURIComponent(ref)}:cancel`;
    const reply = await this.exchange(target, 'POST', url);
    // A task the site no longer knows cannot run any more: that is what cancelling wanted.
    if ((reply.status >= 200 && reply.status < 300) || reply.status === 404) return;
    throw statusFailure(reply, describeCall('POST', url), target.secrets);
  }

  /** TES sites keep nothing on our behalf that outlives the task. */
  async cleanup(_site: AdapterSite, _ref: RemoteRef): Promise<void> {}

  private exchange(
    target: TesTarget,
    method: 'GET' | 'POST',
    url: string,
    json?: unknown,
  ): Promise<HttpReply> {
    return send(target, {
      method,
      url,
      what: describeCall(method, url),
      json,
      timeoutMs: this.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      dispatcher: this.dispatcher,
    });
  }

  private rememberSchemes(target: TesTarget, info: ServiceInfo): SiteSchemes {
    const schemes = schemesOf(info.storage);
    this.schemesCache.set(target.key, { schemes, at: this.now() });
    return schemes;
  }
}

/** One paged list of the broker's tasks at a site: its view, page size, state filter and bound on pages. */
interface ListQuery {
  view: 'BASIC' | 'FULL';
  pageSize: number;
  maxPages: number;
  state?: string;
}

/** A site that is down or refuses our credentials: asking it anything else now is no use. */
function isDown(err: unknown): boolean {
  return err instanceof AdapterError && (err.kind === 'unreachable' || err.kind === 'auth_failed');
}

/**
 * `storage` lists locations such as `s3://bucket/` or `file:///data/`; their schemes are what the site can
 * reach itself. The spec says the list need not be complete, and an empty one tells nothing: any scheme.
 */
export function schemesOf(storage: readonly string[]): SiteSchemes {
  const schemes = new Set<string>();
  for (const entry of storage) {
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(entry.trim());
    if (match) schemes.add(match[1].toLowerCase());
    else if (entry.trim().startsWith('/')) schemes.add('file');
  }
  const list = schemes.size > 0 ? [...schemes].sort() : ['*'];
  return { inputs: list, outputs: [...list] };
}
