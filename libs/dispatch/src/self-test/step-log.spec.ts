import { StepFailure, StepLog } from './step-log';

describe('StepLog', () => {
  it('records a pass with its detail and answers its value', async () => {
    const log = new StepLog();
    const value = await log.run('reach the site', 1000, async () => ({ detail: 'answered', value: 42 }));
    expect(value).toBe(42);
    expect(log.steps).toEqual([
      { name: 'reach the site', ok: true, duration_ms: expect.any(Number), detail: 'answered' },
    ]);
    expect(log.passed()).toBe(true);
  });

  it("records a failure in the step's own words and answers undefined", async () => {
    const log = new StepLog();
    const value = await log.run('authenticate', 1000, async () => {
      throw new StepFailure('the TES site answered 401: check the token in credentials');
    });
    expect(value).toBeUndefined();
    expect(log.steps[0]).toMatchObject({
      ok: false,
      detail: 'the TES site answered 401: check the token in credentials',
    });
    expect(log.passed()).toBe(false);
  });

  it('fails a step that outlives its timeout, saying so, without waiting for it', async () => {
    const log = new StepLog();
    const started = Date.now();
    const value = await log.run('run', 50, () => new Promise<never>(() => undefined));
    expect(value).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(log.steps[0]).toMatchObject({
      name: 'run',
      ok: false,
      detail: "no answer within 50 ms (the step's timeout)",
    });
  });

  it('marks dependent steps skipped, naming the step that failed', () => {
    const log = new StepLog();
    log.skip('submit', 'authenticate');
    expect(log.steps).toEqual([
      { name: 'submit', ok: false, duration_ms: 0, detail: 'skipped: authenticate failed' },
    ]);
  });
});
