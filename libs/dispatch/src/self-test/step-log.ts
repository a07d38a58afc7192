import type { SelfTestStep } from '@constellation/registry';

function spell(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** A step's own failure: its words are the detail the provider reads. */
export class StepFailure extends Error {}

/**
 * The steps of one self-test, in order. Each runs under its own timeout; a failure is recorded in words and
 * never thrown on, so one broken step cannot hide the ones that do not depend on it.
 */
export class StepLog {
  readonly steps: SelfTestStep[] = [];

  /**
   * Runs a step; `body` answers the detail of a pass (and a value for later steps) or throws. Answers the
   * value, or undefined when the step failed.
   */
  async run<T>(
    name: string,
    timeoutMs: number,
    body: () => Promise<{ detail: string; value: T }>,
  ): Promise<T | undefined> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StepFailure(`no answer within ${spell(timeoutMs)} (the step's timeout)`)),
        timeoutMs,
      );
    });
    try {
      const { detail, value } = await Promise.race([body(), timeout]);
      this.push(name, true, started, detail);
      return value;
    } catch (err) {
      this.push(name, false, started, err instanceof Error ? err.message : String(err));
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A step that could not run because one it depends on failed. */
  skip(name: string, because: string): void {
    this.steps.push({ name, ok: false, duration_ms: 0, detail: `skipped: ${because} failed` });
  }

  /** A step judged from what earlier ones saw, without work of its own. */
  record(name: string, ok: boolean, detail: string, durationMs = 0): void {
    this.steps.push({ name, ok, duration_ms: Math.round(durationMs), detail });
  }

  passed(): boolean {
    return this.steps.every((s) => s.ok);
  }

  private push(name: string, ok: boolean, started: number, detail: string): void {
    this.steps.push({ name, ok, duration_ms: Math.round(performance.now() - started), detail });
  }
}
