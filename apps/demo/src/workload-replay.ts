import { mulberry32 } from '@constellation/scheduler';
import { Draw } from '../../../bench/sim/random';
import {
  drawInputGb,
  drawRuntimeS,
  loadWorkload,
  tpvResources,
  type Resources,
  type Tool,
  type Workload,
} from '../../../bench/sim/workload';
import { SIM_SECONDS_TAG, SIM_TOOL_TAG, simDataDir, type NetworkSite } from '../../sim-site/src';
import type { BrokerApi } from './broker-api';
import type { GalaxyStore } from './network-setup';

/** [A] galaxy-workload.md, arrivals: one user x one tool x K jobs, K ~ 1 + Geometric(mean 9). */
const BATCH_EXTRA_MEAN = 9;
/** Draws before a tool that no chosen site can run is given up (the Galaxy's TPV would not send it). */
const MAX_REDRAWS = 50;

export interface ReplayedTask {
  tool: string;
  galaxy: string;
  modelledSeconds: number;
}

/**
 * Replays a Galaxy-like workload against the broker's TES API as a Galaxy submitter: batches arrive as a
 * Poisson process whose mean gives `rate` tasks a second, each batch one tool of the usegalaxy.eu mix
 * with input sizes, run times and TPV resources from the workload model bench:sim uses.
 */
export class WorkloadReplay {
  readonly accepted = new Map<string, ReplayedTask>();
  refused = 0;
  lastRefusal: string | undefined;
  private readonly workload: Workload;
  private readonly draw: Draw;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private jobNumber = 0;

  constructor(
    private readonly api: BrokerApi,
    private readonly submitterToken: string,
    private readonly rate: number,
    private readonly sites: NetworkSite[],
    private readonly galaxies: GalaxyStore[],
    seed: number,
  ) {
    this.workload = loadWorkload(simDataDir());
    this.draw = new Draw(mulberry32(seed));
  }

  start(): void {
    const batchRate = this.rate / (1 + BATCH_EXTRA_MEAN);
    const next = () => {
      this.timer = setTimeout(
        () => {
          const batch = this.submitBatch();
          this.inFlight.add(batch);
          void batch.finally(() => this.inFlight.delete(batch));
          next();
        },
        this.draw.exponential(batchRate) * 1000,
      );
    };
    // The first batch at once, so that a short run has work from its first second.
    const first = this.submitBatch();
    this.inFlight.add(first);
    void first.finally(() => this.inFlight.delete(first));
    next();
  }

  /** Stops new batches and waits for the submissions already under way. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.inFlight]);
  }

  private feasible(r: Resources): boolean {
    return this.sites.some(
      (s) => r.cores <= s.perTask.cores && r.memGib <= s.perTask.memoryGib && r.gpus <= s.perTask.gpus,
    );
  }

  private pick(): { tool: Tool; sizes: { gb: number; res: Resources }[] } | undefined {
    for (let i = 0; i < MAX_REDRAWS; i++) {
      const tool = this.workload.tools[this.draw.categorical(this.workload.cumulative)];
      const k = 1 + this.draw.geometric(BATCH_EXTRA_MEAN);
      const sizes: { gb: number; res: Resources }[] = [];
      for (let j = 0; j < k; j++) {
        const gb = drawInputGb(tool, this.draw);
        const res = tpvResources(tool.name, gb, this.workload.raw.get(tool.name));
        if (res !== null && this.feasible(res)) sizes.push({ gb, res });
      }
      if (sizes.length > 0) return { tool, sizes };
    }
    return undefined;
  }

  /**
   * Every draw of a batch happens before its first submission is awaited, so batches that overlap do not
   * interleave their draws: a seed gives the same tasks in the same order on every run.
   */
  private async submitBatch(): Promise<void> {
    const picked = this.pick();
    if (!picked) return;
    // [A] usegalaxy.eu sends most of the Network's jobs; the national Galaxies share the rest evenly.
    const galaxy =
      this.draw.uniform() < 0.5 || this.galaxies.length === 1
        ? (this.galaxies.find((g) => g.name === 'usegalaxy.eu') ?? this.galaxies[0])
        : this.galaxies[1 + Math.floor(this.draw.uniform() * (this.galaxies.length - 1))];
    const jobs = picked.sizes.map(({ gb, res }) => ({
      gb,
      res,
      seconds: drawRuntimeS(picked.tool, gb, this.draw),
    }));
    for (const job of jobs) await this.submit(picked.tool, galaxy, job.gb, job.res, job.seconds);
  }

  private async submit(tool: Tool, galaxy: GalaxyStore, gb: number, res: Resources, seconds: number) {
    const job = ++this.jobNumber;
    const files = `${galaxy.prefix}${job}/files?job_key=demo`;
    const resources: Record<string, unknown> = {
      cpu_cores: res.cores,
      ram_gb: Math.round(res.memGib * 10) / 10,
    };
    if (res.gpus > 0) resources.backend_parameters = { 'constellation.gpus': String(res.gpus) };
    const doc = {
      name: `${tool.name}-${job}`,
      description: `Galaxy job ${job} of ${galaxy.name} (simulated, ${gb.toFixed(3)} GB input)`,
      inputs: [
        { url: `${files}&path=input_1.dat`, path: '/pulsar_staging/inputs/input_1.dat', type: 'FILE' },
      ],
      outputs: [
        { url: `${files}&path=output_1.dat`, path: '/pulsar_staging/outputs/output_1.dat', type: 'FILE' },
      ],
      resources,
      executors: [
        {
          image: `quay.io/biocontainers/${tool.name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-')}:latest`,
          command: ['bash', '-c', `${tool.name} /pulsar_staging/inputs/input_1.dat`],
        },
      ],
      tags: {
        [SIM_TOOL_TAG]: tool.name,
        'galaxy.server': galaxy.name,
        [SIM_SECONDS_TAG]: seconds.toFixed(1),
      },
    };
    try {
      const created = await this.api.call<{ id: string }>(
        'POST',
        '/ga4gh/tes/v1/tasks',
        this.submitterToken,
        doc,
      );
      this.accepted.set(created.id, { tool: tool.name, galaxy: galaxy.name, modelledSeconds: seconds });
    } catch (err) {
      this.refused++;
      this.lastRefusal = (err as Error).message;
    }
  }
}
