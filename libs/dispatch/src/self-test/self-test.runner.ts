import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import {
  type AdapterSite,
  type RemoteStatus,
  type SiteAdapter,
  SiteAdapters,
  isAdapterError,
} from '@constellation/adapters';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import type { SelfTestResult } from '@constellation/registry';
import { probeTimeoutMs } from '../adapter-prober';
import { DispatchSites } from '../dispatch-sites';
import {
  describeFailure,
  kindWords,
  managerFailure,
  probeVerdict,
  unfetchedInput,
  undeliveredOutput,
  type ProbeVerdict,
} from './self-test-advice';
import {
  DEFAULT_SELF_TEST_IMAGE,
  SELF_TEST_IMAGE_TAG,
  SELF_TEST_TAG,
  echoJob,
  fetchedText,
  newNonce,
  selfTestJobId,
  sleepJob,
} from './self-test-jobs';
import { SelfTestFiles } from './self-test-files';
import { StepFailure, StepLog } from './step-log';

const FINAL_STATES = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);
const POLL_MS = 250;
/** An output delivered by the site's last call may land a moment after the site reports the job done. */
const OUTPUT_GRACE_MS = 2000;

interface Final {
  status?: RemoteStatus;
  /** Why no final status came: the site's last error, or the timeout. */
  problem?: string;
  waitedMs: number;
}

interface Submitted {
  site: AdapterSite;
  ref: string;
}

/**
 * Runs a real, small job through a site's own protocol (the adapters dispatch uses), step by step, and says
 * what failed in words the provider can act on. Its jobs are the broker's own: no task row, no quota, ids
 * and tags that mark them (self-test-jobs.ts), and only its own jobs are cancelled and cleaned up.
 */
@Injectable()
export class SelfTestRunner {
  constructor(
    private readonly adapters: SiteAdapters,
    private readonly directory: DispatchSites,
    private readonly files: SelfTestFiles,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Bound on one exchange step (reach, authenticate, submit, cancel, clean up). */
  private controlMs(): number {
    return Math.max(3 * probeTimeoutMs(this.config), 15_000);
  }

  private runMs(): number {
    return this.config.selfTestRunSeconds * 1000;
  }

  async run(siteId: string, tags: Record<string, string>): Promise<SelfTestResult> {
    const startedAt = new Date();
    const log = new StepLog();
    const tokens: string[] = [];
    const submitted: Submitted[] = [];
    const access = await this.directory.site(siteId);
    const adapter = access ? this.adapters.for(access.adapterSite.kind) : undefined;
    if (!access || !adapter) {
      log.record(
        'reach the site',
        false,
        access ? 'this broker has no adapter for sites of this kind' : 'the site was removed',
      );
    } else {
      try {
        await this.steps(log, adapter, access.adapterSite, tags, tokens, submitted);
      } finally {
        await this.cleanUp(log, adapter, submitted, tokens);
      }
    }
    return {
      ok: log.passed(),
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      // Sites quote the URLs they failed on; the result is kept and shown to every reader of the site.
      steps: log.steps.map((step) => ({ ...step, detail: redactTokens(step.detail, tokens) })),
    };
  }

  private async steps(
    log: StepLog,
    adapter: SiteAdapter,
    site: AdapterSite,
    tags: Record<string, string>,
    tokens: string[],
    submitted: Submitted[],
  ): Promise<void> {
    const runs = this.runtimesOf(site);
    const image = tags[SELF_TEST_IMAGE_TAG] || DEFAULT_SELF_TEST_IMAGE;
    const later = [...runs.flatMap((r) => RUN_STEPS.map((name) => `${name}${r.label}`)), 'cancel a job'];

    const verdict = await log.run<ProbeVerdict>('reach the site', this.controlMs(), async () => {
      const v = probeVerdict(site, await adapter.probe(site));
      if (v.reach !== true) throw new StepFailure(v.reach);
      return { detail: v.reachDetail, value: v };
    });
    if (!verdict)
      return this.skipAll(log, 'reach the site', ['authenticate', ...this.managerStep(site), ...later]);

    const managerCheck = await log.run('authenticate', this.controlMs(), async () => {
      if (verdict.auth !== true) throw new StepFailure(verdict.auth);
      return this.authenticate(adapter, site, verdict);
    });
    if (managerCheck === undefined)
      return this.skipAll(log, 'authenticate', [...this.managerStep(site), ...later]);
    if (site.kind !== 'tes') {
      const found = await log.run('find the manager', this.controlMs(), async () => {
        if (managerCheck !== true) throw new StepFailure(managerCheck);
        return { detail: verdict.managerDetail ?? "Pulsar answered on the manager's routes", value: true };
      });
      if (!found) return this.skipAll(log, 'find the manager', later);
    }

    for (const run of runs) {
      await this.runOnce(
        log,
        adapter,
        run.site,
        run.label,
        run.runtime === 'none' ? 'on the host' : `image ${image}`,
        image,
        tokens,
        submitted,
      );
    }
    await log.run('cancel a job', this.controlMs() + this.runMs(), async () => {
      const first = runs[0].site;
      const ref = await adapter.submit(first, sleepJob(image)).catch((err: unknown) => {
        throw new StepFailure(`the site refused the job to cancel: ${describeFailure(site, err)}`);
      });
      submitted.push({ site: first, ref });
      await adapter.cancel(first, ref).catch((err: unknown) => {
        throw new StepFailure(`cancelling job ${ref} failed: ${describeFailure(site, err)}`);
      });
      const final = await this.waitFinal(adapter, first, ref, this.controlMs());
      const state = final.status?.state;
      if (state !== 'CANCELED') {
        throw new StepFailure(
          `after the cancel the site reported job ${ref} ${state ?? `nothing final (${final.problem})`}, not CANCELED`,
        );
      }
      return { detail: `job ${ref} was cancelled`, value: true };
    });
  }

  /** Answers true when the manager is known to answer, or the words of why it does not. */
  private async authenticate(
    adapter: SiteAdapter,
    site: AdapterSite,
    verdict: ProbeVerdict,
  ): Promise<{ detail: string; value: true | string }> {
    if (site.kind === 'pulsar-amqp') {
      return { detail: 'the message broker accepted our login', value: verdict.manager };
    }
    if (verdict.manager !== true) return { detail: 'Pulsar accepted the token', value: verdict.manager };
    try {
      // An authenticated call about a job that cannot exist: TES lists by tag, Pulsar reads its status on the
      // manager's routes (the token is checked before the manager is looked up).
      if (site.kind === 'tes') await adapter.copies(site, selfTestJobId(), 1);
      else await adapter.find(site, selfTestJobId(), 1);
      return { detail: `${kindWords(site)} accepted our credentials`, value: true };
    } catch (err) {
      if (isAdapterError(err) && err.kind === 'auth_failed')
        throw new StepFailure(describeFailure(site, err));
      const manager = site.kind === 'pulsar-rest' ? managerFailure(site, err) : null;
      if (manager !== null) return { detail: 'Pulsar accepted the token', value: manager };
      throw new StepFailure(describeFailure(site, err));
    }
  }

  private async runOnce(
    log: StepLog,
    adapter: SiteAdapter,
    site: AdapterSite,
    label: string,
    where: string,
    image: string,
    tokens: string[],
    submitted: Submitted[],
  ): Promise<void> {
    const nonce = newNonce();
    const ttl = this.controlMs() * 4 + this.runMs();
    const input = await this.files.offerInput(site.id, Buffer.from(fetchedText(nonce)), 'fetched.txt', ttl);
    const output = await this.files.expectOutput(site.id, 'result.txt', ttl);
    tokens.push(input.token, output.token);
    const { job, expected } = echoJob(image, nonce, input.url, output.url);
    const shown = (url: string, token: string) => url.replace(token, '<one-time token>');

    const ref = await log.run(`submit${label}`, this.controlMs(), async () => {
      const r = await adapter.submit(site, job).catch((err: unknown) => {
        throw new StepFailure(describeFailure(site, err));
      });
      submitted.push({ site, ref: r });
      return { detail: `the site took job ${r} (${where})`, value: r };
    });
    const dependents = RUN_STEPS.slice(1).map((name) => `${name}${label}`);
    if (ref === undefined) return this.skipAll(log, `submit${label}`, dependents);

    const final = await this.waitFinal(adapter, site, ref, this.runMs());
    const fetched = (await this.files.state(input.token)).touched;
    log.record(
      `fetch the input${label}`,
      fetched,
      fetched
        ? `the site fetched ${shown(input.url, input.token)}`
        : unfetchedInput(site, shown(input.url, input.token), this.config.publicUrl, final.status),
      final.waitedMs,
    );
    if (!fetched) return this.skipAll(log, `fetch the input${label}`, dependents.slice(1));

    const state = final.status?.state;
    log.record(
      `run${label}`,
      state === 'COMPLETE',
      state === 'COMPLETE'
        ? `COMPLETE after ${Math.round(final.waitedMs)} ms`
        : state === undefined
          ? `no final state within ${this.config.selfTestRunSeconds} s (CONSTELLATION_SELF_TEST_RUN_SECONDS): ${final.problem}; check the site's queue and that it can run the job (${where})`
          : `the job ended ${state}: ${whyFailed(final.status)}`,
      final.waitedMs,
    );
    if (state !== 'COMPLETE' && !final.status?.executorLogs.length) {
      return this.skipAll(log, `run${label}`, dependents.slice(2));
    }
    const first = final.status?.executorLogs[0];
    const stdout = first?.stdout ?? '';
    const stdoutOk = first !== undefined && first.exit_code === 0 && stdout.includes(expected);
    log.record(
      `stdout and exit code${label}`,
      stdoutOk,
      first === undefined
        ? 'the site reported no executor log (no stdout, no exit code)'
        : stdoutOk
          ? `exit code 0; stdout holds the inline and the fetched input (${Buffer.byteLength(stdout)} bytes)`
          : `exit code ${first.exit_code}; stdout ${JSON.stringify(stdout.slice(0, 120))} does not hold both inputs (${first.stderr ? `stderr: ${first.stderr.slice(0, 200)}` : 'no stderr'})`,
    );
    // A job whose executors all succeeded may still have failed over its outputs: that is the next step's to say.
    const executorsRan =
      final.status?.executorLogs.length === job.tes.executors.length &&
      final.status.executorLogs.every((l) => l.exit_code === 0);
    if (state !== 'COMPLETE' && !executorsRan) return this.skipAll(log, `run${label}`, dependents.slice(3));

    const started = performance.now();
    let delivered = (await this.files.state(output.token)).content;
    // Only a job the site calls done may still have its output on the way; a failed one will not send it.
    while (delivered === null && state === 'COMPLETE' && performance.now() - started < OUTPUT_GRACE_MS) {
      await delay(POLL_MS);
      delivered = (await this.files.state(output.token)).content;
    }
    const exact = delivered !== null && delivered.toString('utf8') === expected;
    log.record(
      `deliver the output${label}`,
      exact,
      exact
        ? `the output reached ${shown(output.url, output.token)}`
        : delivered === null
          ? undeliveredOutput(site, shown(output.url, output.token), final.status)
          : `an output arrived but is not what the job wrote (${delivered.length} bytes, expected ${Buffer.byteLength(expected)})`,
      performance.now() - started,
    );
  }

  /** Polls the job's status until it is final or `ms` have passed; transient failures are retried. */
  private async waitFinal(adapter: SiteAdapter, site: AdapterSite, ref: string, ms: number): Promise<Final> {
    const started = performance.now();
    let problem = 'the site never reported the job finished';
    for (;;) {
      try {
        const got = (await adapter.status(site, [ref])).get(ref);
        if (got && !isAdapterError(got)) {
          if (FINAL_STATES.has(got.state)) {
            // Status checks only read: the broker delivers a Pulsar job's outputs itself, as dispatch does.
            const status = got.awaitingDelivery && adapter.deliver ? await adapter.deliver(site, ref) : got;
            return { status, waitedMs: performance.now() - started };
          }
          problem = `it was still ${got.state}`;
        } else if (got) {
          problem = describeFailure(site, got);
          if (got.kind === 'lost') return { problem, waitedMs: performance.now() - started };
        }
      } catch (err) {
        problem = describeFailure(site, err);
      }
      if (performance.now() - started >= ms) return { problem, waitedMs: performance.now() - started };
      await delay(POLL_MS);
    }
  }

  private async cleanUp(
    log: StepLog,
    adapter: SiteAdapter,
    submitted: Submitted[],
    tokens: string[],
  ): Promise<void> {
    await log.run('clean up', this.controlMs(), async () => {
      const problems: string[] = [];
      for (const { site, ref } of submitted) {
        await adapter.cleanup(site, ref).catch((err: unknown) => {
          problems.push(`job ${ref}: ${describeFailure(site, err)}`);
        });
      }
      await this.files.remove(tokens);
      if (problems.length > 0) throw new StepFailure(`could not clean up ${problems.join('; ')}`);
      return { detail: cleanedUp(adapter, submitted.length), value: true };
    });
  }

  private managerStep(site: AdapterSite): string[] {
    return site.kind === 'tes' ? [] : ['find the manager'];
  }

  private skipAll(log: StepLog, because: string, names: readonly string[]): void {
    for (const name of names) log.skip(name, because);
  }

  /**
   * A TES site picks its own runtime: one run. A Pulsar job script uses the first runtime present, so each
   * declared runtime gets a run of its own, restricted to it (`none`: the commands on the host).
   */
  private runtimesOf(site: AdapterSite): { site: AdapterSite; label: string; runtime: string | null }[] {
    if (site.kind === 'tes' || site.runtimes.length === 0) return [{ site, label: '', runtime: null }];
    return site.runtimes.map((runtime) => ({
      site: {
        ...site,
        runtimes: [runtime],
        runImagesOnHost: runtime === 'none' ? true : site.runImagesOnHost,
      },
      label: ` (${runtime})`,
      runtime,
    }));
  }
}

/** The steps of one run, in order; each depends on the one before. */
const RUN_STEPS = ['submit', 'fetch the input', 'run', 'stdout and exit code', 'deliver the output'];

function redactTokens(text: string, tokens: readonly string[]): string {
  return tokens.reduce((out, token) => out.split(token).join('<one-time token>'), text);
}

function cleanedUp(adapter: SiteAdapter, jobs: number): string {
  if (jobs === 0) return 'nothing was left at the site';
  // TES has no call to remove a task: they stay in the site's list, marked as the broker's self-test.
  if (adapter.kind === 'tes')
    return `${jobs} self-test tasks stay in the site's task list, tagged ${SELF_TEST_TAG}`;
  return `removed ${jobs} self-test jobs at the site`;
}

function whyFailed(status: RemoteStatus | undefined): string {
  const logs = status?.systemLogs ?? [];
  const stderr = status?.executorLogs.map((l) => l.stderr ?? '').filter((s) => s !== '') ?? [];
  const said = [...logs.slice(-3), ...stderr.slice(-1)].join(' | ').slice(0, 400);
  return said || 'the site gave no reason';
}
