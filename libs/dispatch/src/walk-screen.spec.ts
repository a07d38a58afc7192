import type { RemoteStatus } from '@constellation/adapters';
import type { DispatchTask, TesExecutorLog, TesState, TesTaskLog } from '@constellation/tes';
import type { AttemptEvent } from './attempt-outcome';
import { checkOutcome } from './check-outcome';
import { SITE_PACED_AT } from './track-pacing';
import { quietWalkCheck, reportedAsRecorded, WalkRow } from './walk-screen';

const now = new Date('2026-12-06T10:00:00Z');
const config = { maxAttempts: 3, maxPreemptions: 5, trackSeconds: 5, amqpReconcileSeconds: 300 };
const started: TesExecutorLog = {
  start_time: '2026-12-06T09:00:00Z',
  exit_code: 0,
  stdout: 'x'.repeat(4096),
};

/** The full log of attempt 2 (attempt 1 ended elsewhere), its first executor's streams stored. */
const fullLogs = (executors: TesExecutorLog[]): TesTaskLog[] => [
  { logs: [], outputs: [], metadata: { attempt: '1' }, system_logs: ['placed on site-a', 'lost'] },
  {
    logs: executors,
    outputs: [],
    metadata: { attempt: '2' },
    system_logs: ['placed on site-b', 'site: pulled the image'],
    start_time: '2026-12-06T09:00:00Z',
  },
];

/** A walked row and the full row it was read from: the same task, one without document and streams. */
function task(state: TesState, remoteState: TesState, executors: TesExecutorLog[]) {
  const logs = fullLogs(executors);
  const withoutStreams = logs[1].logs?.map(({ stdout: _o, stderr: _e, ...rest }) => rest);
  const walked: WalkRow = {
    id: 't1',
    remoteId: 'r2',
    siteId: 'site-b',
    state,
    version: 7,
    sitePaced: true,
    attempt: 2,
    remoteState,
    trackIntervalMs: 5000,
    failingSince: null,
    attemptLog: { ...logs[1], logs: withoutStreams },
  };
  const full: DispatchTask = {
    ...walked,
    submitterId: 's1',
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
    claimedBy: null,
    excludedSiteIds: ['site-a'],
    preemptions: 0,
    takeBacks: 0,
    logs,
    submitDoubtAt: null,
    deliveryTries: null,
  };
  return { walked, full };
}

/** What a TES BASIC list says: no stdout, stderr nor system logs. */
const listed = (state: TesState, executors: TesExecutorLog[] = [], over: Partial<RemoteStatus> = {}) => ({
  kind: 'status' as const,
  status: {
    state,
    executorLogs: executors.map(({ stdout: _o, stderr: _e, ...rest }) => rest),
    outputs: [],
    systemLogs: [],
    startTime: '2026-12-06T09:00:00Z',
    streamsOmitted: true,
    ...over,
  },
});

const fullIsQuiet = (full: DispatchTask, event: AttemptEvent) =>
  checkOutcome(full, full.remoteId, event, { mode: 'listed' }, now, config).change.quiet === true;

describe('quietWalkCheck', () => {
  it('finds quiet, from the row without document and streams, what the full row finds quiet', () => {
    const cases: Array<[TesState, TesState, TesExecutorLog[], AttemptEvent]> = [
      // Nothing new: the stored stdout is not in the walked row, and need not be.
      ['RUNNING', 'RUNNING', [started], listed('RUNNING', [started])],
      // The site's state moved without a change clients see (RUNNING to PAUSED): quiet, the new state recorded.
      ['RUNNING', 'RUNNING', [started], listed('PAUSED', [started])],
      // A second executor ended: the log changes though the state does not.
      ['RUNNING', 'RUNNING', [started], listed('RUNNING', [started, { exit_code: 1 }])],
      // The first executor's end time came: a change.
      [
        'RUNNING',
        'RUNNING',
        [started],
        listed('RUNNING', [{ ...started, end_time: '2026-12-06T09:40:00Z' }]),
      ],
      // The site started the task: a change of state.
      ['INITIALIZING', 'QUEUED', [], listed('RUNNING')],
      ['INITIALIZING', 'QUEUED', [], listed('QUEUED')],
      // Finished or failed at the site: never quiet.
      ['RUNNING', 'RUNNING', [started], listed('SYSTEM_ERROR', [started])],
      ['RUNNING', 'RUNNING', [started], { kind: 'lost', reason: 'the site no longer knows the task' }],
    ];
    const seen = cases.map(([state, remoteState, executors, event]) => {
      const { walked, full } = task(state, remoteState, executors);
      const screened = quietWalkCheck(walked, event, now, config) !== null;
      expect([state, event, screened]).toEqual([state, event, fullIsQuiet(full, event)]);
      return screened;
    });
    expect(seen).toEqual([true, true, false, false, false, true, false, false]);
  });

  it('gives the pacing and the site state to record, the task left to its site walk', () => {
    const { walked } = task('RUNNING', 'RUNNING', [started]);
    expect(quietWalkCheck(walked, listed('PAUSED', [started]), now, config)).toMatchObject({
      nextCheckAt: SITE_PACED_AT,
      remoteState: 'PAUSED',
      trackIntervalMs: 500,
    });
  });

  it('leaves to the full row an answer with streams (a task read alone), which the walked row cannot judge', () => {
    const { walked, full } = task('RUNNING', 'RUNNING', [started]);
    // Read alone in the FULL view, the site now says the executor printed nothing: the stored stdout goes.
    const read = listed('RUNNING', [], {
      executorLogs: [{ start_time: '2026-12-06T09:00:00Z', exit_code: 0 }],
      systemLogs: ['pulled the image'],
      streamsOmitted: false,
    });
    expect(fullIsQuiet(full, read)).toBe(false);
    expect(quietWalkCheck(walked, read, now, config)).toBeNull();
  });

  it('leaves to the full row a task whose site has been failing to answer about it', () => {
    const { walked } = task('RUNNING', 'RUNNING', [started]);
    const failing = { ...walked, failingSince: new Date(now.getTime() - 60_000) };
    expect(quietWalkCheck(failing, listed('RUNNING', [started]), now, config)).toBeNull();
  });

  it('leaves to the full row a task whose current attempt has no log entry yet', () => {
    const { walked } = task('INITIALIZING', 'QUEUED', []);
    expect(quietWalkCheck({ ...walked, attemptLog: null }, listed('QUEUED'), now, config)).toBeNull();
  });
});

describe('reportedAsRecorded', () => {
  const output = { url: 's3://out/a', path: '/out/a', size_bytes: '12' };
  /** The full row finds nothing new: nothing to write for a task left to its site's walk. */
  const fullUnchanged = (full: DispatchTask, event: AttemptEvent) => {
    const out = checkOutcome(full, full.remoteId, event, { mode: 'listed' }, now, config);
    return out.change.quiet === true && out.change.update.remoteState === full.remoteState;
  };
  type Case = [string, Partial<TesTaskLog>, Partial<DispatchTask>, AttemptEvent, boolean];

  it('answers from the fields alone only when the full row finds nothing new, and for the usual such reports', () => {
    const cases: Case[] = [
      ['the same report, stdout stored', {}, {}, listed('RUNNING', [started]), true],
      [
        'the same outputs',
        { outputs: [output] },
        {},
        listed('RUNNING', [started], { outputs: [output] }),
        true,
      ],
      [
        'another output size',
        { outputs: [output] },
        {},
        listed('RUNNING', [started], { outputs: [{ ...output, size_bytes: '13' }] }),
        false,
      ],
      [
        'another start time',
        {},
        {},
        listed('RUNNING', [started], { startTime: '2026-12-06T09:01:00Z' }),
        false,
      ],
      ['an end time', {}, {}, listed('RUNNING', [started], { endTime: '2026-12-06T09:50:00Z' }), false],
      ['a new state at the site', {}, {}, listed('PAUSED', [started]), false],
      ['an exit code that moved', {}, {}, listed('RUNNING', [{ ...started, exit_code: 2 }]), false],
      ['a key reported undefined', {}, {}, listed('RUNNING', [{ ...started, end_time: undefined }]), false],
      [
        'stdout reported where none is stored',
        { logs: [{ exit_code: 0 }] },
        {},
        listed('RUNNING', [], { executorLogs: [{ exit_code: 0, stdout: 'hi' }] }),
        false,
      ],
      [
        "site lines before the broker's",
        { system_logs: ['site: pulled', 'placed on site-b'] },
        {},
        listed('RUNNING', [started]),
        false,
      ],
      ['a failing site', {}, { failingSince: now }, listed('RUNNING', [started]), false],
      ['a cancel request read', {}, { state: 'CANCELING' }, listed('RUNNING', [started]), false],
      [
        'RUNNING recorded of a task still INITIALIZING',
        {},
        { state: 'INITIALIZING' },
        listed('RUNNING', [started]),
        false,
      ],
      ['PREEMPTED again', {}, { remoteState: 'PREEMPTED' }, listed('PREEMPTED', [started]), false],
    ];
    for (const [what, log, over, event, expected] of cases) {
      const { full } = task('RUNNING', 'RUNNING', [started]);
      const attemptLog = { ...full.logs[1], ...log };
      const asFull: DispatchTask = { ...full, ...over, logs: [full.logs[0], attemptLog] };
      // As siteTasks reads it: the current attempt's entry without executor streams.
      const walked: WalkRow = {
        ...task('RUNNING', 'RUNNING', []).walked,
        state: asFull.state,
        remoteState: asFull.remoteState,
        failingSince: asFull.failingSince,
        attemptLog: {
          ...attemptLog,
          logs: attemptLog.logs?.map(({ stdout: _o, stderr: _e, ...rest }) => rest),
        },
      };
      expect([what, reportedAsRecorded(walked, event, config)]).toEqual([what, expected]);
      // Never true for a report that changes something; here, never false for one that does not either.
      expect([what, fullUnchanged(asFull, event)]).toEqual([what, expected]);
    }
  });
});
