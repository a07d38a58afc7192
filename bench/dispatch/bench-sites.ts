import {
  startFakePulsarAmqp,
  startFakePulsarSite,
  startFakeTesSite,
  uniqueManager,
  type FakePulsarJob,
  type FakeTesSite,
} from '@constellation/testing';

export const SITE_KINDS = ['tes', 'pulsar-rest', 'pulsar-amqp'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

/**
 * A simulated site as the bench sees it: what to register, and what the site itself saw (the calls it
 * answered, and when it took each job and finished it), counted at the site rather than in the broker.
 */
export interface BenchSite {
  readonly kind: SiteKind;
  /** The registration body (without slug and place). */
  readonly registration: Record<string, unknown>;
  /** Status polls the site answered so far: TES task reads and lists, Pulsar status requests. */
  statusCalls(): number;
  /**
   * Status calls as the broker makes them: on TES one walk of the paged task list (its first page, asked for
   * without a page token) or one task read; elsewhere the same as statusCalls.
   */
  statusWalks(): number;
  /** Every call the site answered so far (over AMQP: every message it consumed from the broker). */
  allCalls(): number;
  /**
   * The site's own time for a task of the broker's, in ms: from the site first knowing the job to its end,
   * or undefined while it has not ended there.
   */
  siteMs(taskId: string): number | undefined;
  close(): Promise<void>;
}

/** Common to every kind: no capacity limit the bench would hit, no container runtime needed. */
const CAPACITY = { capacity: { max_concurrent_tasks: 100_000 } };

export interface SiteOptions {
  /** Time between a fake's state changes (its own overhead per task), ms. */
  stepDelayMs: number;
  /** Keep TES tasks QUEUED at the site for ever (tracking load without any task ending). */
  hold?: boolean;
}

/**
 * Counts a fake's requests, and among them its status polls. The fakes' logs only grow, so each look counts
 * the entries that came since the last one.
 */
function requestCounts<R>(requests: () => R[], isPoll: (r: R) => boolean) {
  let polls = 0;
  let seen = 0;
  const count = () => {
    const log = requests();
    for (; seen < log.length; seen++) if (isPoll(log[seen])) polls++;
  };
  return {
    polls: () => (count(), polls),
    all: () => (count(), seen),
  };
}

export async function startTesSite(options: SiteOptions): Promise<BenchSite & { fake: FakeTesSite }> {
  // timeScale 1: `sleep N` lasts N seconds, as the long-running tasks need.
  const fake = await startFakeTesSite({ stepDelayMs: options.stepDelayMs, timeScale: 1, hold: options.hold });
  const counts = requestCounts(fake.requests, (r) => r.method === 'GET' && r.path.includes('/tasks'));
  const walks = requestCounts(
    fake.requests,
    (r) => r.method === 'GET' && r.path.includes('/tasks') && !new URLSearchParams(r.query).has('page_token'),
  );
  return {
    kind: 'tes',
    fake,
    registration: { kind: 'tes', url: fake.url, pulsar_manager: null, runtimes: ['docker'], ...CAPACITY },
    statusCalls: counts.polls,
    statusWalks: walks.polls,
    allCalls: counts.all,
    siteMs: (taskId) => {
      const task = fake.tasks().find((t) => t.tags?.['constellation.task'] === taskId);
      const end = task?.logs?.[task.logs.length - 1]?.end_time;
      if (!task || !end || !['COMPLETE', 'EXECUTOR_ERROR'].includes(task.state)) return undefined;
      return Date.parse(end) - Date.parse(task.creation_time);
    },
    close: () => fake.close(),
  };
}

/**
 * When each Pulsar job appeared at the site and when it finished, sampled every few ms: the Pulsar fakes
 * keep no times of their own. Jobs are `{task id}-{attempt}`; the bench's tasks run once.
 */
function jobClock(job: (id: string) => FakePulsarJob | undefined) {
  const times = new Map<string, { seen: number; done?: number }>();
  const watched = new Set<string>();
  const timer = setInterval(() => {
    const now = performance.now();
    for (const taskId of watched) {
      const j = job(`${taskId}-1`);
      if (!j) continue;
      const t = times.get(taskId) ?? { seen: now };
      times.set(taskId, t);
      if (['complete', 'failed', 'cancelled'].includes(j.status)) {
        t.done = now;
        watched.delete(taskId);
      }
    }
  }, 2);
  return {
    watch: (taskId: string) => watched.add(taskId),
    siteMs: (taskId: string) => {
      const t = times.get(taskId);
      return t?.done === undefined ? undefined : t.done - t.seen;
    },
    stop: () => clearInterval(timer),
  };
}

export type PulsarBenchSite = BenchSite & { watch(taskId: string): void };

export async function startPulsarRestSite(options: SiteOptions): Promise<PulsarBenchSite> {
  const fake = await startFakePulsarSite({ stepDelayMs: options.stepDelayMs, timeScale: 1 });
  const clock = jobClock((id) => fake.job(id));
  const counts = requestCounts(fake.requests, (r) => r.method === 'GET' && r.path.endsWith('/status'));
  return {
    kind: 'pulsar-rest',
    registration: {
      kind: 'pulsar-rest',
      url: fake.url,
      pulsar_manager: null,
      runtimes: ['none'],
      run_images_on_host: true,
      ...CAPACITY,
    },
    statusCalls: counts.polls,
    statusWalks: counts.polls,
    allCalls: counts.all,
    siteMs: clock.siteMs,
    watch: clock.watch,
    close: async () => {
      clock.stop();
      await fake.close();
    },
  };
}

export async function startPulsarAmqpSite(options: SiteOptions, amqpUrl: string): Promise<PulsarBenchSite> {
  const fake = await startFakePulsarAmqp({
    amqpUrl,
    manager: uniqueManager(),
    stepDelayMs: options.stepDelayMs,
    timeScale: 1,
  });
  const clock = jobClock((id) => fake.job(id));
  // Sites keep the user and password in their credentials; the URL names the vhost.
  const broker = new URL(amqpUrl);
  return {
    kind: 'pulsar-amqp',
    registration: {
      kind: 'pulsar-amqp',
      url: `${broker.protocol}//${broker.host}/${broker.pathname.length > 1 ? broker.pathname.slice(1) : '%2F'}`,
      pulsar_manager: fake.manager,
      credentials: {
        username: decodeURIComponent(broker.username),
        password: decodeURIComponent(broker.password),
      },
      runtimes: ['none'],
      run_images_on_host: true,
      ...CAPACITY,
    },
    statusCalls: () => fake.statusRequests().length,
    statusWalks: () => fake.statusRequests().length,
    allCalls: () => fake.setups().length + fake.kills().length + fake.statusRequests().length,
    siteMs: clock.siteMs,
    watch: clock.watch,
    close: async () => {
      clock.stop();
      await fake.close();
    },
  };
}
