import type { RemoteStatus } from '@constellation/adapters';
import type { DispatchTask, TesState, TesTaskLog } from '@constellation/tes';
import { checkOutcome } from './check-outcome';
import { SITE_PACED_AT } from './track-pacing';

const now = new Date('2026-12-06T00:00:00Z');
const config = { maxAttempts: 3, maxPreemptions: 5, trackSeconds: 5, amqpReconcileSeconds: 300 };
const LOGS: TesTaskLog[] = [
  { logs: [], outputs: [], metadata: { attempt: '1' }, system_logs: ['placed on site-a'] } as TesTaskLog,
];

const tracked = (over: Partial<DispatchTask> = {}): DispatchTask => ({
  id: 't1',
  submitterId: 's1',
  state: 'INITIALIZING',
  document: {
    executors: [{ image: 'alpine', command: ['true'] }],
    inputs: [],
    outputs: [],
    volumes: [],
    tags: {},
  },
  hasInlineContent: false,
  createdAt: now,
  queuedAt: now,
  attempt: 1,
  siteId: 'site-a',
  remoteId: 'r1',
  claimedBy: 'replica',
  excludedSiteIds: [],
  preemptions: 0,
  takeBacks: 0,
  logs: LOGS,
  failingSince: null,
  submitDoubtAt: null,
  deliveryTries: null,
  trackIntervalMs: 2000,
  remoteState: 'QUEUED',
  version: 1,
  ...over,
});
const status = (state: TesState, over: Partial<RemoteStatus> = {}) => ({
  kind: 'status' as const,
  status: { state, executorLogs: [], outputs: [], systemLogs: [], ...over },
});

describe('checkOutcome', () => {
  it('is quiet when the site says what it said last: only the next check moves, the back-off doubled', () => {
    const out = checkOutcome(tracked(), 'r1', status('QUEUED'), { mode: 'per-task' }, now, config);
    expect(out.change.quiet).toBe(true);
    expect(out.change.update).toMatchObject({
      nextCheckAt: new Date(now.getTime() + 4000),
      trackIntervalMs: 4000,
      remoteState: 'QUEUED',
    });
    expect(out.ended).toBeUndefined();
    // A listed site's task is not due on its own: its site's walk covers it.
    const listed = checkOutcome(tracked(), 'r1', status('QUEUED'), { mode: 'listed' }, now, config);
    expect(listed.change.update.nextCheckAt).toEqual(SITE_PACED_AT);
  });

  it('is not quiet when the task starts: an event, and the back-off starts again', () => {
    const out = checkOutcome(tracked(), 'r1', status('RUNNING'), { mode: 'listed' }, now, config);
    expect(out.change.quiet).toBeUndefined();
    expect(out.change.event).toMatchObject({ from: 'INITIALIZING', to: 'RUNNING' });
    expect(out.change.update.trackIntervalMs).toBe(500);
  });

  it('is not quiet when the site failed before (failing_since is cleared) or sent new logs', () => {
    const failing = tracked({ failingSince: new Date(now.getTime() - 60_000) });
    expect(
      checkOutcome(failing, 'r1', status('QUEUED'), { mode: 'listed' }, now, config).change.quiet,
    ).toBeUndefined();
    const said = status('QUEUED', { systemLogs: ['waiting for a node'] });
    expect(checkOutcome(tracked(), 'r1', said, { mode: 'listed' }, now, config).change.quiet).toBeUndefined();
  });

  it('hands a task cancelled meanwhile, or resubmitted, to its step at once', () => {
    for (const row of [tracked({ state: 'CANCELING' }), tracked({ remoteId: 'r2' })]) {
      const out = checkOutcome(row, 'r1', status('QUEUED'), { mode: 'listed' }, now, config);
      expect(out.change).toEqual({ update: { nextCheckAt: now } });
      expect(out.decision).toBeUndefined();
    }
  });

  it('ends the attempt on a final state, and waits no sooner than the site budget allows', () => {
    const done = checkOutcome(
      tracked({ state: 'RUNNING' }),
      'r1',
      status('COMPLETE'),
      { mode: 'listed' },
      now,
      config,
    );
    expect(done.ended).toMatch(/^finish: /);
    const later = new Date(now.getTime() + 60_000);
    const paced = checkOutcome(
      tracked(),
      'r1',
      status('QUEUED'),
      { mode: 'per-task', notBefore: later },
      now,
      config,
    );
    expect(paced.change.update.nextCheckAt).toEqual(later);
  });
});
