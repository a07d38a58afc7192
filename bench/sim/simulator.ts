import {
  Candidate,
  DataStoreSnapshot,
  DEFAULT_COST_MODEL,
  fairShareOrder,
  bucketedLocalityPrice,
  DemandBucket,
  haversineKm,
  localDemandOf,
  LOCALITY_FILL,
  LOCALITY_MIN_SPAN_S,
  LOCALITY_WINDOW_S,
  Placement,
  mulberry32,
  overdueAtSite,
  place,
  TAKE_BACK_LOOK_S,
  takeBackChoice,
  TakeBackSettings,
  updateReservations,
  PolicyContext,
  PolicyName,
  RunningTask,
  RunTimeEstimator,
  ShareAccount,
  SiteSnapshot,
  SubmitterSnapshot,
  TaskRequirement,
  transferSeconds,
  WaitingTask,
} from '@constellation/scheduler';
import { EventQueue } from './heap';
import { CapacityScenario, Network, SimSite } from './network';
import { Draw, mean, percentile } from './random';
import { SimTask, SUBMITTER_WEIGHTS, Trace } from './trace';

/** [A] Site failure: which site, when, for how long; detection after 3 failed probes 30 s apart. */
export const FAILURE = { siteId: 'eu-pulsar-cz01', atS: 12 * 3600, downS: 3 * 3600, detectS: 90, probeS: 30 };
/** ARCHITECTURE.md's CONSTELLATION_MAX_ATTEMPTS default. */
export const MAX_ATTEMPTS = 3;
/** [A] Each submitter may hold at most this share of the network's admission slots. */
export const QUOTA_SHARE = 0.6;
/** [A] True speed of each site relative to reference hardware, hidden from the broker. */
export const SPEED_RANGE: [number, number] = [0.7, 1.3];
/** [A] Each site's links are this far (sigma of ln) from the bandwidth model, hidden from the broker. */
export const LINK_SIGMA = 0.3;
/** The broker's window and fill share: one rule for both. */
export { LOCALITY_FILL, LOCALITY_WINDOW_S };
/** How often (simulated seconds) the prices are computed again from the window. */
const LOCALITY_REFRESH_S = 60;

export interface RunResult {
  meanTurnaroundS: number;
  p95TurnaroundS: number;
  meanWaitS: number;
  wanBytes: number;
  utilisationSpread: number;
  failedOver: number;
  lost: number;
  completed: number;
  placements: number;
  placementSeconds: number;
  meanStageS: number;
  meanRunS: number;
  speedError: number;
  /** Median |ln(estimated / true run time)| over completed runs, the estimate placement used at their site. */
  runEstimateError: number;
  /** Tasks the broker withdrew from a site's queue and placed again (take-back; 0 when it is off). */
  takenBack: number;
}

/** The broker's tracking interval (CONSTELLATION_TRACK_SECONDS): how often it sees a site still holds a task queued. */
export const TRACK_S = 5;
/** A task the take-back step judged and kept is judged again no sooner than this: the broker's default. */
export const TAKE_BACK_RECHECK_S = TAKE_BACK_LOOK_S;

interface TaskState {
  t: SimTask;
  attempt: number;
  site: number;
  placedAt: number;
  stageS: number;
  start: number;
  excluded: string[];
  failedOver: boolean;
  waitVersion: number;
  done: boolean;
  phase: 'waiting' | 'staging' | 'queued' | 'running' | 'dead' | 'output' | 'done' | 'lost';
  /** The broker has seen it start (its load counts it as running, not queued). */
  brokerRunning: boolean;
  /** Fair share's key within the submitter: arrival + the run time expected at arrival. */
  due: number;
  /** Queue wait + transfer placement expected at the site it was committed to. */
  expectedWaitS: number;
  /** Times the broker took it back from a site queue (not failures: they do not count towards MAX_ATTEMPTS). */
  takenBack: number;
  /** When the take-back step may judge it again. */
  nextTakeBackCheck: number;
}

interface SiteTruth {
  sim: SimSite;
  cores: number;
  memGib: number;
  gpus: number;
  freeCores: number;
  freeMem: number;
  freeGpus: number;
  speed: number;
  link: number;
  up: boolean;
  queue: TaskState[];
  busyCoreS: number;
  lastChange: number;
}

type Ev =
  | { kind: 'arrival'; task: TaskState }
  | { kind: 'staged' | 'runEnd' | 'outputDone'; task: TaskState; attempt: number }
  | { kind: 'fail' | 'detect' | 'recover' | 'probeUp'; site: number }
  | { kind: 'takeBackCheck' };

/** What placement expected a committed task to wait before it starts at the site: queue wait and transfer. */
const expectedWaitOf = (c: Candidate): number => c.queueWaitS + c.transferS;

/** The simulated task's fingerprint: what the broker would derive from its tool's container image. */
const toolKey = (t: SimTask): string => `tool-${t.tool}`;

export function runSimulation(opts: {
  network: Network;
  capacity: CapacityScenario;
  trace: Trace;
  policy: PolicyName;
  seed: number;
  horizonS: number;
  toolCount: number;
  /** The broker's estimator; a fresh one (no history) unless a run continues from an earlier one. */
  estimator?: RunTimeEstimator;
  /** Publish each site's locality price (`localityPrice`) in its snapshot; off by default, see docs/scheduling.md. */
  localityPrice?: boolean;
  /**
   * Take-back: every TRACK_S the broker withdraws tasks held queued at a site far beyond the wait it expected
   * and places them again when another site promises an earlier completion (see take-back.ts). Off when absent.
   */
  takeBack?: TakeBackSettings;
  /** Diagnostics: called for every completed task. */
  onDone?: (
    t: SimTask,
    d: { arrival: number; placedAt: number; start: number; stageS: number; end: number; site: string },
  ) => void;
}): RunResult {
  const { network, capacity, trace, policy, horizonS } = opts;
  const model = DEFAULT_COST_MODEL;
  const truthDraw = new Draw(mulberry32(opts.seed * 104729 + 17));
  const siteIndex = new Map(network.sites.map((s, i) => [s.id, i]));

  const truths: SiteTruth[] = network.sites.map((s) => {
    const tot = capacity.totals(s);
    return {
      sim: s,
      cores: tot.cores,
      memGib: tot.memoryGib,
      gpus: tot.gpus,
      freeCores: tot.cores,
      freeMem: tot.memoryGib,
      freeGpus: tot.gpus,
      speed: truthDraw.uniform(SPEED_RANGE[0], SPEED_RANGE[1]),
      link: Math.exp(LINK_SIGMA * truthDraw.normal()),
      up: true,
      queue: [],
      busyCoreS: 0,
      lastChange: 0,
    };
  });
  const stores: DataStoreSnapshot[] = network.stores.map((s) => ({
    id: s.id,
    country: s.country,
    latitude: s.latitude,
    longitude: s.longitude,
  }));
  const storeById = new Map(network.stores.map((s) => [s.id, s]));
  const snaps: SiteSnapshot[] = network.sites.map((s, i) => ({
    id: s.id,
    slug: s.slug,
    country: s.country,
    latitude: s.latitude,
    longitude: s.longitude,
    kind: 'pulsar-amqp',
    adminState: 'active',
    health: 'up',
    capacity: {
      // [A] Admission: one task per core, so a site never holds more tasks than it could run 1-core jobs.
      maxConcurrentTasks: truths[i].cores,
      totals: { cores: truths[i].cores, memoryGib: truths[i].memGib, gpus: truths[i].gpus },
      perTask: { cores: s.perTask.cores, memoryGib: s.perTask.memoryGib, gpus: s.perTask.gpus },
    },
    runtimes: ['singularity'],
    localDataStoreIds: network.stores
      .filter((st) => network.colocated.get(st.id)?.includes(s.id))
      .map((st) => st.id),
    schemes: { inputs: ['*'], outputs: ['*'] },
    load: { running: 0, queued: 0, claimed: { cores: 0, memoryGib: 0, gpus: 0 }, runningTasks: [] },
    performance: { speedFactor: 1 },
  }));
  /** What the broker records when it sees a task start: its claim, the start and the run time it expected. */
  const runningEntries = new Map<TaskState, RunningTask>();
  // The same estimator the broker places real tasks with; it learns only from completions, as there.
  const estimator = opts.estimator ?? new RunTimeEstimator();
  /**
   * Changes a site's fields other than its load. Placement reads those as immutable and remembers what it
   * derives from them per site object (SiteSnapshot), so the site is replaced, sharing its load.
   */
  const changeSite = (si: number, change: Partial<SiteSnapshot>): void => {
    snaps[si] = { ...snaps[si], ...change };
  };
  const refreshPerformance = (si: number, now: number): void => {
    const snap = snaps[si];
    changeSite(si, {
      performance: { ...snap.performance, ...estimator.sitePerformance(snap.id, truths[si].cores, now) },
    });
  };
  snaps.forEach((_, i) => refreshPerformance(i, 0));
  const estimateErrors: number[] = [];

  // Per site: recent placements whose data is local there, for its locality price. As the broker does: each
  // task's demand at its first placement on the sites local to its data (localDemandOf), kept by density
  // bucket, and the prices computed afresh for each placement pass (at most once a simulated minute here:
  // the broker keeps the demand by minute) over the window as it slides, so a price also falls.
  const localWindow: { at: number; d: DemandBucket }[][] = snaps.map(() => []);
  const notePlaced = (s: TaskState, task: TaskRequirement, result: Placement, now: number): void => {
    if (!opts.localityPrice || s.attempt > 0) return;
    for (const entry of localDemandOf(task, result.candidates, snaps)) {
      localWindow[siteIndex.get(entry.siteId)!].push({
        at: now,
        d: { bucket: entry.bucket, coreS: entry.coreS },
      });
    }
  };
  let pricedAt = Number.NEGATIVE_INFINITY;
  const refreshPrices = (now: number): void => {
    if (!opts.localityPrice || now - pricedAt < LOCALITY_REFRESH_S) return;
    pricedAt = now;
    for (let i = 0; i < snaps.length; i++) {
      const w = localWindow[i];
      let drop = 0;
      while (drop < w.length && w[drop].at < now - LOCALITY_WINDOW_S) drop++;
      if (drop > 0) w.splice(0, drop);
      const cores = snaps[i].capacity.totals?.cores;
      let price = 0;
      if (w.length > 0 && cores !== undefined && cores > 0) {
        const span = Math.min(LOCALITY_WINDOW_S, Math.max(LOCALITY_MIN_SPAN_S, now - w[0].at));
        price = bucketedLocalityPrice(
          w.map((x) => x.d),
          cores * span * LOCALITY_FILL,
        );
      }
      if ((snaps[i].performance.localityPrice ?? 0) !== price) {
        changeSite(i, { performance: { ...snaps[i].performance, localityPrice: price } });
      }
    }
  };

  const totalSlots = snaps.reduce((a, s) => a + s.capacity.maxConcurrentTasks, 0);
  const accounts = new Map<string, ShareAccount>(
    Object.entries(SUBMITTER_WEIGHTS).map(([id, weight]) => [
      id,
      { id, weight, quota: Math.floor(QUOTA_SHARE * totalSlots), running: 0 },
    ]),
  );
  const queues = new Map<string, TaskState[]>([...accounts.keys()].map((id) => [id, []]));
  let waitingCount = 0;
  let capacityVersion = 0;
  const ctx: PolicyContext = { prng: mulberry32(opts.seed * 31 + 7) };

  const events = new EventQueue<Ev>();
  const states: TaskState[] = trace.tasks.map((t) => ({
    t,
    attempt: 0,
    site: -1,
    placedAt: 0,
    stageS: 0,
    start: 0,
    excluded: [],
    failedOver: false,
    waitVersion: -1,
    done: false,
    phase: 'waiting',
    brokerRunning: false,
    due: t.arrival,
    expectedWaitS: 0,
    takenBack: 0,
    nextTakeBackCheck: 0,
  }));
  for (const s of states) events.push(s.t.arrival, { kind: 'arrival', task: s });
  const failIdx = siteIndex.get(FAILURE.siteId);
  if (failIdx !== undefined) {
    events.push(FAILURE.atS, { kind: 'fail', site: failIdx });
    events.push(FAILURE.atS + FAILURE.detectS, { kind: 'detect', site: failIdx });
    events.push(FAILURE.atS + FAILURE.downS, { kind: 'recover', site: failIdx });
  }

  const turnarounds: number[] = [];
  const waits: number[] = [];
  const stages: number[] = [];
  const runs: number[] = [];
  let wanBytes = 0;
  let failedOver = 0;
  let lost = 0;
  let placements = 0;
  let placementNs = 0n;

  const accrue = (st: SiteTruth, now: number): void => {
    st.busyCoreS += (st.cores - st.freeCores) * (now - st.lastChange);
    st.lastChange = now;
  };

  /** The broker's estimate of the run time on reference hardware (median), for the policy. */
  const expectedRunS = (task: SimTask, now: number): number | undefined =>
    estimator.toolEstimate(toolKey(task), task.inputBytes, now)?.medianS;
  /** Run times learned from the tool's own runs at particular sites, where there are enough of them. */
  const runSBySite = (task: SimTask, now: number): Record<string, number> | undefined => {
    let bySite: Record<string, number> | undefined;
    for (const snap of snaps) {
      const e = estimator.siteEstimate(toolKey(task), snap.id, task.inputBytes, now);
      if (e !== undefined) (bySite ??= {})[snap.id] = e.medianS;
    }
    return bySite;
  };
  /** The run time placement would expect at the site: what its estimate error is measured on. */
  const placedRunS = (task: SimTask, si: number, now: number): number => {
    const id = snaps[si].id;
    const e = estimator.siteEstimate(toolKey(task), id, task.inputBytes, now);
    if (e !== undefined) return e.medianS;
    return (expectedRunS(task, now) ?? model.defaultRunS) / snaps[si].performance.speedFactor;
  };

  const requirement = (s: TaskState, now: number): TaskRequirement => {
    const t = s.t;
    return {
      id: String(t.id),
      cpuCores: t.cores,
      ramGb: (t.memGib * 2 ** 30) / 1e9,
      gpus: t.gpus,
      inputs: [
        {
          url: `https://${t.submitter}/api/jobs/${t.id}/files`,
          sizeBytes: t.inputBytes,
          dataStoreId: t.submitter,
        },
      ],
      excludedSiteIds: s.excluded,
      expectedRunS: expectedRunS(t, now),
      expectedRunSBySite: runSBySite(t, now),
      queuedAt: t.arrival,
    };
  };

  const releaseBroker = (s: TaskState, wasRunning: boolean): void => {
    const snap = snaps[s.site];
    if (wasRunning) {
      snap.load.running--;
      const entry = runningEntries.get(s);
      // A new array: placement remembers each list's order of ends (see SiteLoad.runningTasks).
      if (entry !== undefined) snap.load.runningTasks = snap.load.runningTasks!.filter((e) => e !== entry);
      runningEntries.delete(s);
    } else snap.load.queued--;
    const c = snap.load.claimed!;
    c.cores -= s.t.cores;
    c.memoryGib -= s.t.memGib;
    c.gpus -= s.t.gpus;
    accounts.get(s.t.submitter)!.running--;
    capacityVersion++;
  };

  const requeue = (s: TaskState, now: number): void => {
    s.excluded = [...s.excluded, snaps[s.site].id];
    if (!s.failedOver) {
      s.failedOver = true;
      failedOver++;
    }
    s.attempt++;
    s.site = -1;
    s.brokerRunning = false;
    if (s.attempt - s.takenBack >= MAX_ATTEMPTS) {
      s.phase = 'lost';
      lost++;
      return;
    }
    s.phase = 'waiting';
    s.waitVersion = -1;
    // A failed-over task keeps its place: it goes to the front of its submitter's queue.
    s.due = Number.NEGATIVE_INFINITY;
    queues.get(s.t.submitter)!.unshift(s);
    waitingCount++;
    void now;
  };

  /** What the broker records when it commits task s to site si: a queued task, its claim, its submitter's count. */
  const claimAt = (s: TaskState, si: number): void => {
    const snap = snaps[si];
    snap.load.queued++;
    const c = snap.load.claimed!;
    c.cores += s.t.cores;
    c.memoryGib += s.t.memGib;
    c.gpus += s.t.gpus;
    accounts.get(s.t.submitter)!.running++;
  };

  /** Undoes releaseBroker for a task still queued at site si (the take-back step kept it there). */
  const restoreBroker = (s: TaskState, si: number): void => {
    claimAt(s, si);
    capacityVersion++;
  };

  const tryStart = (si: number, now: number): void => {
    const st = truths[si];
    if (!st.up || st.queue.length === 0) return;
    // HTCondor-like matchmaking: any queued job that fits starts, in queue order.
    for (let i = 0; i < st.queue.length;) {
      const s = st.queue[i];
      if (s.t.cores <= st.freeCores && s.t.memGib <= st.freeMem + 1e-9 && s.t.gpus <= st.freeGpus) {
        accrue(st, now);
        st.freeCores -= s.t.cores;
        st.freeMem -= s.t.memGib;
        st.freeGpus -= s.t.gpus;
        st.queue.splice(i, 1);
        s.phase = 'running';
        s.brokerRunning = true;
        s.start = now;
        const snap = snaps[si];
        snap.load.queued--;
        snap.load.running++;
        const entry: RunningTask = {
          cores: s.t.cores,
          memoryGib: s.t.memGib,
          startedAt: now,
          expectedRunS: placedRunS(s.t, si, now),
        };
        snap.load.runningTasks = [...snap.load.runningTasks!, entry];
        runningEntries.set(s, entry);
        events.push(now + s.t.refRunS / st.speed, { kind: 'runEnd', task: s, attempt: s.attempt });
      } else {
        i++;
      }
    }
  };

  const dispatch = (s: TaskState, si: number, now: number, expectedWaitS: number): void => {
    const snap = snaps[si];
    s.expectedWaitS = expectedWaitS;
    s.nextTakeBackCheck = 0;
    claimAt(s, si);
    s.site = si;
    s.placedAt = now;
    if (!truths[si].up) {
      // The site is down but not yet detected: the submission fails at once and the task goes elsewhere.
      releaseBroker(s, false);
      requeue(s, now);
      return;
    }
    const store = storeById.get(s.t.submitter)!;
    const local = snap.localDataStoreIds.includes(store.id);
    const km = haversineKm(store, snap) ?? model.unknownDistanceKm;
    s.stageS = local ? 0 : transferSeconds(s.t.inputBytes, km, model) * truths[si].link * s.t.transferNoise;
    s.phase = 'staging';
    events.push(now + s.stageS, { kind: 'staged', task: s, attempt: s.attempt });
  };

  const freeSlots = (): number => {
    let free = 0;
    for (const snap of snaps) {
      if (snap.health !== 'up') continue;
      free += Math.max(0, snap.capacity.maxConcurrentTasks - snap.load.running - snap.load.queued);
    }
    return free;
  };

  const pass = (now: number): void => {
    if (waitingCount === 0) return;
    refreshPrices(now);
    const free = freeSlots();
    if (free === 0) return;
    // The first k tasks of each submitter fix the first k places of the fair-share order; no more can run.
    const prefix = Math.min(64, free + 16);
    const waiting: WaitingTask[] = [];
    const byId = new Map<string, TaskState>();
    for (const q of queues.values()) {
      let taken = 0;
      for (const s of q) {
        if (taken >= prefix) break;
        if (s.waitVersion === capacityVersion) continue;
        const id = String(s.t.id);
        waiting.push({ taskId: id, submitterId: s.t.submitter, queuedAt: s.t.arrival, dueAt: s.due });
        byId.set(id, s);
        taken++;
      }
    }
    if (waiting.length === 0) return;
    const order = fairShareOrder(waiting, [...accounts.values()]).order;
    for (const id of order) {
      const s = byId.get(id)!;
      const account = accounts.get(s.t.submitter)!;
      const sub: SubmitterSnapshot = {
        id: account.id,
        allowedSiteIds: [],
        quota: account.quota,
        weight: account.weight,
        running: account.running,
      };
      const t0 = process.hrtime.bigint();
      const task = requirement(s, now);
      const result = place(
        { now, sites: snaps, dataStores: stores, task, submitter: sub },
        { policy, context: ctx },
      );
      placementNs += process.hrtime.bigint() - t0;
      placements++;
      updateReservations(snaps, id, result);
      if (result.decision === 'wait') {
        s.waitVersion = capacityVersion;
        continue;
      }
      const q = queues.get(s.t.submitter)!;
      q.splice(q.indexOf(s), 1);
      waitingCount--;
      if (result.decision === 'infeasible') {
        s.phase = 'lost';
        lost++;
        continue;
      }
      notePlaced(s, task, result, now);
      const si = siteIndex.get(result.siteId!)!;
      if (policy === 'round-robin') ctx.lastRoundRobinSiteId = result.siteId;
      dispatch(s, si, now, opts.takeBack ? expectedWaitOf(result.candidates[si]) : 0);
      if (freeSlots() === 0) break;
    }
  };

  let takenBack = 0;
  let takeBackTickAt = Number.NaN;
  const scheduleTakeBack = (now: number): void => {
    if (!opts.takeBack || !Number.isNaN(takeBackTickAt)) return;
    takeBackTickAt = (Math.floor(now / TRACK_S) + 1) * TRACK_S;
    events.push(takeBackTickAt, { kind: 'takeBackCheck' });
  };
  /**
   * The broker's take-back step: from what it knows (when it placed each task, the wait it expected, its own
   * estimates now), never from the site's true queue or run times. A task the site already started is not
   * touched; one that is judged and kept waits TAKE_BACK_RECHECK_S before it is judged again.
   */
  const takeBackStep = (now: number, settings: TakeBackSettings): boolean => {
    let moved = false;
    for (let si = 0; si < truths.length; si++) {
      const st = truths[si];
      if (!st.up || snaps[si].health !== 'up') continue;
      for (const s of [...st.queue]) {
        if (s.phase !== 'queued' || now < s.nextTakeBackCheck) continue;
        const atSiteS = now - s.placedAt;
        if (!overdueAtSite(atSiteS, s.expectedWaitS, s.takenBack, settings)) continue;
        s.nextTakeBackCheck = now + TAKE_BACK_RECHECK_S;
        // Judge it as if it had left: its claim and queue slot at the site are not in the way of itself.
        const version = capacityVersion;
        releaseBroker(s, false);
        const account = accounts.get(s.t.submitter)!;
        const id = String(s.t.id);
        const result = place(
          {
            now,
            sites: snaps,
            dataStores: stores,
            task: requirement(s, now),
            submitter: {
              id: account.id,
              allowedSiteIds: [],
              quota: account.quota,
              weight: account.weight,
              running: account.running,
            },
          },
          { policy, context: ctx },
        );
        placements++;
        const choice = takeBackChoice(result, snaps[si].id, atSiteS, settings);
        if (choice === undefined) {
          restoreBroker(s, si);
          capacityVersion = version;
          continue;
        }
        updateReservations(snaps, id, result);
        st.queue.splice(st.queue.indexOf(s), 1);
        s.takenBack++;
        s.attempt++;
        takenBack++;
        moved = true;
        const to = siteIndex.get(choice.toSiteId)!;
        dispatch(s, to, now, expectedWaitOf(result.candidates[to]));
      }
    }
    return moved;
  };

  const learn = (s: TaskState, si: number, runS: number, now: number): void => {
    estimateErrors.push(Math.abs(Math.log(placedRunS(s.t, si, now) / runS)));
    estimator.observe({
      tool: toolKey(s.t),
      siteId: snaps[si].id,
      inputBytes: s.t.inputBytes,
      cores: s.t.cores,
      runS,
      queueS: s.start - s.placedAt,
      at: now,
    });
    refreshPerformance(si, now);
  };

  let lastTime = 0;
  while (events.size > 0) {
    const now = events.peekTime();
    lastTime = now;
    const ev = events.pop();
    switch (ev.kind) {
      case 'arrival': {
        const q = queues.get(ev.task.t.submitter)!;
        ev.task.due = now + (expectedRunS(ev.task.t, now) ?? model.defaultRunS);
        // Keep each submitter's queue in fair share's order, so the prefix a pass offers is the right one.
        let lo = 0;
        let hi = q.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (q[mid].due <= ev.task.due) lo = mid + 1;
          else hi = mid;
        }
        q.splice(lo, 0, ev.task);
        waitingCount++;
        pass(now);
        break;
      }
      case 'staged': {
        const s = ev.task;
        if (s.attempt !== ev.attempt || s.phase !== 'staging') break;
        if (s.stageS > 0) wanBytes += s.t.inputBytes;
        s.phase = 'queued';
        truths[s.site].queue.push(s);
        tryStart(s.site, now);
        if (s.phase === 'queued') scheduleTakeBack(now);
        break;
      }
      case 'takeBackCheck': {
        takeBackTickAt = Number.NaN;
        const settings = opts.takeBack!;
        if (takeBackStep(now, settings)) pass(now);
        if (truths.some((st) => st.queue.length > 0)) scheduleTakeBack(now);
        break;
      }
      case 'runEnd': {
        const s = ev.task;
        if (s.attempt !== ev.attempt || s.phase !== 'running') break;
        const si = s.site;
        const st = truths[si];
        accrue(st, now);
        st.freeCores += s.t.cores;
        st.freeMem += s.t.memGib;
        st.freeGpus += s.t.gpus;
        learn(s, si, now - s.start, now);
        releaseBroker(s, true);
        waits.push(s.start - s.t.arrival - s.stageS);
        stages.push(s.stageS);
        runs.push(now - s.start);
        s.phase = 'output';
        const snap = snaps[si];
        const store = storeById.get(s.t.submitter)!;
        const local = snap.localDataStoreIds.includes(store.id);
        let outS = 0;
        if (!local && s.t.outputBytes > 0) {
          wanBytes += s.t.outputBytes;
          outS =
            transferSeconds(s.t.outputBytes, haversineKm(store, snap) ?? model.unknownDistanceKm, model) *
            st.link;
        }
        events.push(now + outS, { kind: 'outputDone', task: s, attempt: s.attempt });
        tryStart(si, now);
        pass(now);
        break;
      }
      case 'outputDone': {
        const s = ev.task;
        if (s.attempt !== ev.attempt || s.phase !== 'output') break;
        s.phase = 'done';
        turnarounds.push(now - s.t.arrival);
        opts.onDone?.(s.t, {
          arrival: s.t.arrival,
          placedAt: s.placedAt,
          start: s.start,
          stageS: s.stageS,
          end: now,
          site: snaps[s.site].id,
        });
        break;
      }
      case 'fail': {
        const st = truths[ev.site];
        accrue(st, now);
        st.up = false;
        // Everything staged, queued or running there is gone; the broker learns it at detection.
        st.queue = [];
        for (const s of states) {
          if (
            s.site === ev.site &&
            (s.phase === 'staging' || s.phase === 'queued' || s.phase === 'running')
          ) {
            s.phase = 'dead';
          }
        }
        st.freeCores = st.cores;
        st.freeMem = st.memGib;
        st.freeGpus = st.gpus;
        break;
      }
      case 'detect': {
        changeSite(ev.site, { health: 'offline' });
        for (const s of states) {
          if (s.site !== ev.site) continue;
          if (s.phase === 'dead' || s.phase === 'staging' || s.phase === 'queued' || s.phase === 'running') {
            releaseBroker(s, s.brokerRunning);
            requeue(s, now);
          }
        }
        pass(now);
        break;
      }
      case 'recover': {
        const st = truths[ev.site];
        st.up = true;
        st.lastChange = now;
        events.push(now + FAILURE.probeS, { kind: 'probeUp', site: ev.site });
        break;
      }
      case 'probeUp': {
        changeSite(ev.site, { health: 'up' });
        capacityVersion++;
        pass(now);
        break;
      }
    }
  }

  const makespan = Math.max(lastTime, horizonS, 1);
  const utils = truths.map((st) => st.busyCoreS / (st.cores * makespan));
  const mu = mean(utils);
  const spread = Math.sqrt(mean(utils.map((u) => (u - mu) ** 2)));
  const sorted = [...turnarounds].sort((a, b) => a - b);
  lost += states.filter((s) => s.phase === 'waiting').length;
  return {
    meanTurnaroundS: mean(turnarounds),
    p95TurnaroundS: percentile(sorted, 95),
    meanWaitS: mean(waits),
    wanBytes,
    utilisationSpread: spread,
    failedOver,
    lost,
    completed: turnarounds.length,
    placements,
    placementSeconds: Number(placementNs) / 1e9,
    meanStageS: mean(stages),
    meanRunS: mean(runs),
    speedError: mean(snaps.map((sn, i) => Math.abs(Math.log(sn.performance.speedFactor / truths[i].speed)))),
    takenBack,
    runEstimateError: percentile(
      [...estimateErrors].sort((a, b) => a - b),
      50,
    ),
  };
}
