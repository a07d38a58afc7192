import { ChangeFeed, FeedListener } from './change-feed';
import type { ChangeFeedRepository, LoggedTaskEvent } from './change-feed.repository';
import type { LiveEvent, SiteLiveEvent } from './live-event';

const T0 = Date.parse('2026-12-06T04:00:00Z');
const taskEvent = (id: string, loggedMs: number): LoggedTaskEvent => ({
  id,
  loggedAt: new Date(T0 + loggedMs),
  event: {
    type: 'task',
    task_id: `task-${id}`,
    submitter_id: 'alice',
    kind: 'state',
    from: null,
    to: 'QUEUED',
    site_id: null,
    attempt: 0,
    time: new Date(T0).toISOString(),
  },
});
const site = (running: number, extra: Partial<SiteLiveEvent> = {}): SiteLiveEvent => ({
  type: 'site',
  site_id: 's1',
  slug: 'fi-espoo',
  admin_state: 'active',
  health: 'up',
  running,
  queued: 0,
  max_concurrent_tasks: 10,
  time: new Date(T0).toISOString(),
  ...extra,
});

/** A database that holds `events` (visible to reads) and `sites`, and fails while `down`. */
function fakeRepo() {
  const db = { events: [] as LoggedTaskEvent[], sites: [site(0)], down: false, reads: [] as number[] };
  const repo = {
    now: async () => new Date(T0),
    taskEventsSince: async (since: Date) => {
      if (db.down) throw new Error('connection terminated');
      db.reads.push(since.getTime() - T0);
      return db.events.filter((e) => e.loggedAt > since);
    },
    sites: async () => {
      if (db.down) throw new Error('connection terminated');
      return db.sites;
    },
  };
  return { db, repo: repo as unknown as ChangeFeedRepository };
}

describe('ChangeFeed', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const listen = async (feed: ChangeFeed) => {
    const got: LiveEvent[] = [];
    const lost = jest.fn();
    const listener: FeedListener = { event: (e) => got.push(e), lost };
    const off = await feed.subscribe(listener);
    return { got, lost, off };
  };
  const tick = () => jest.advanceTimersByTimeAsync(1000);

  it('sends what is written after the subscription, once, including a commit that shows up late', async () => {
    const { db, repo } = fakeRepo();
    db.events.push(taskEvent('old', -100));
    const feed = new ChangeFeed(repo);
    const { got, off } = await listen(feed);
    db.events.push(taskEvent('a', 200));
    await tick();
    // Written (stamped) before `a` but committed after the read above: the look-back still finds it.
    db.events.push(taskEvent('late', 100));
    await tick();
    await tick();
    expect(got.map((e) => (e.type === 'task' ? e.task_id : e.site_id))).toEqual(['task-a', 'task-late']);
    // Each read looks 5 s behind the newest event it has seen.
    expect(db.reads.slice(-1)).toEqual([200 - 5000]);
    off();
  });

  it('announces a site only when its health, admin state or load changes', async () => {
    const { db, repo } = fakeRepo();
    const feed = new ChangeFeed(repo);
    const { got, off } = await listen(feed);
    await tick();
    db.sites = [site(3)];
    await tick();
    await tick();
    db.sites = [site(3, { health: 'offline' }), site(0, { site_id: 's2', slug: 'new' })];
    await tick();
    expect(got.map((e) => (e.type === 'site' ? `${e.slug}:${e.running}:${e.health}` : e.type))).toEqual([
      'fi-espoo:3:up',
      'fi-espoo:3:offline',
      'new:0:up',
    ]);
    off();
  });

  it('ends every listener when the database cannot be read, and reads nothing once none listens', async () => {
    const { db, repo } = fakeRepo();
    const feed = new ChangeFeed(repo);
    const one = await listen(feed);
    const two = await listen(feed);
    db.down = true;
    await tick();
    expect(one.lost).toHaveBeenCalledTimes(1);
    expect(two.lost).toHaveBeenCalledTimes(1);
    db.down = false;
    const reads = db.reads.length;
    await tick();
    expect(db.reads.length).toBe(reads);
    // A new listener starts the feed again.
    const three = await listen(feed);
    db.events.push(taskEvent('b', 300));
    await tick();
    expect(three.got).toHaveLength(1);
    three.off();
    await tick();
    expect(db.reads.length).toBe(reads + 2);
  });
});
