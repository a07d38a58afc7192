import type { RemoteStatus } from '@constellation/adapters';
import type { TesState } from '@constellation/tes';
import { AttemptContext, decideAttempt } from './attempt-outcome';

const ctx = (over: Partial<AttemptContext> = {}): AttemptContext => ({
  state: 'RUNNING',
  attempt: 1,
  maxAttempts: 3,
  preemptions: 0,
  maxPreemptions: 5,
  rerunOnSiteLoss: true,
  ...over,
});

const status = (state: TesState, systemLogs: string[] = []): RemoteStatus => ({
  state,
  executorLogs: [],
  outputs: [],
  systemLogs,
});

describe('decideAttempt', () => {
  it.each<[TesState, TesState, string]>([
    ['QUEUED', 'INITIALIZING', 'INITIALIZING'],
    ['INITIALIZING', 'INITIALIZING', 'INITIALIZING'],
    ['UNKNOWN', 'INITIALIZING', 'INITIALIZING'],
    ['RUNNING', 'INITIALIZING', 'RUNNING'],
    ['PAUSED', 'INITIALIZING', 'RUNNING'],
    ['QUEUED', 'RUNNING', 'RUNNING'],
  ])('a site reporting %s while the broker has %s keeps the task %s', (remote, broker, expected) => {
    expect(decideAttempt(ctx({ state: broker }), { kind: 'status', status: status(remote) })).toEqual({
      action: 'progress',
      state: expected,
    });
  });

  it.each<[TesState, TesState]>([
    ['COMPLETE', 'COMPLETE'],
    ['EXECUTOR_ERROR', 'EXECUTOR_ERROR'],
  ])('a site reporting %s finishes the task as %s', (remote, final) => {
    expect(decideAttempt(ctx(), { kind: 'status', status: status(remote) })).toMatchObject({
      action: 'finish',
      state: final,
    });
  });

  it('sends a task the site failed with SYSTEM_ERROR elsewhere, quoting the site', () => {
    const d = decideAttempt(ctx(), { kind: 'status', status: status('SYSTEM_ERROR', ['disk full']) });
    expect(d).toEqual({
      action: 'requeue',
      reason: 'the site reported SYSTEM_ERROR: disk full',
      exclude: true,
      preempted: false,
    });
  });

  it('gives up with SYSTEM_ERROR once the attempts are spent', () => {
    const d = decideAttempt(ctx({ attempt: 3 }), { kind: 'refused', reason: 'HTTP 400: bad image' });
    expect(d).toEqual({
      action: 'finish',
      state: 'SYSTEM_ERROR',
      reason: 'HTTP 400: bad image; gave up after 3 attempt(s) (CONSTELLATION_MAX_ATTEMPTS=3)',
    });
  });

  it.each(['lost', 'site_offline'] as const)('reruns a %s task elsewhere by default', (kind) => {
    expect(decideAttempt(ctx(), { kind, reason: 'gone' })).toEqual({
      action: 'requeue',
      reason: 'gone',
      exclude: true,
      preempted: false,
    });
  });

  it('does not rerun a started task lost with its site when rerun_on_site_loss is false', () => {
    const d = decideAttempt(ctx({ rerunOnSiteLoss: false }), { kind: 'site_offline', reason: 'site down' });
    expect(d).toMatchObject({ action: 'finish', state: 'SYSTEM_ERROR' });
    expect((d as { reason: string }).reason).toContain('rerun_on_site_loss is false');
  });

  it('does not rerun a started task the site failed when rerun_on_site_loss is false', () => {
    const d = decideAttempt(ctx({ rerunOnSiteLoss: false }), {
      kind: 'status',
      status: status('SYSTEM_ERROR', ['node died']),
    });
    expect(d).toMatchObject({ action: 'finish', state: 'SYSTEM_ERROR' });
  });

  it('still resubmits a task that never started when rerun_on_site_loss is false', () => {
    const d = decideAttempt(ctx({ state: 'INITIALIZING', rerunOnSiteLoss: false }), {
      kind: 'lost',
      reason: 'gone',
    });
    expect(d.action).toBe('requeue');
  });

  it('treats a cancellation the broker did not ask for as a loss', () => {
    expect(decideAttempt(ctx(), { kind: 'status', status: status('CANCELED') })).toMatchObject({
      action: 'requeue',
      exclude: true,
    });
  });

  it('retries preemption on any site, apart from the attempt limit, then ends PREEMPTED', () => {
    expect(
      decideAttempt(ctx({ attempt: 3, preemptions: 4 }), { kind: 'status', status: status('PREEMPTED') }),
    ).toEqual({ action: 'requeue', reason: 'preempted at the site', exclude: false, preempted: true });
    expect(
      decideAttempt(ctx({ preemptions: 5 }), { kind: 'status', status: status('PREEMPTED') }),
    ).toMatchObject({ action: 'finish', state: 'PREEMPTED' });
  });
});
