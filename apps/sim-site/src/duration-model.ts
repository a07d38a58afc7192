import { mulberry32 } from '@constellation/scheduler';
import { Draw } from '../../../bench/sim/random';
import {
  drawInputGb,
  drawRuntimeS,
  loadWorkload,
  type Tool,
  type Workload,
} from '../../../bench/sim/workload';
import { simDataDir } from './sim-data';

/** Tags a client may put on a task to steer the simulation (documented in docs/demo.md). */
export const SIM_SECONDS_TAG = 'constellation.sim_seconds';
export const SIM_TOOL_TAG = 'galaxy.tool';

/**
 * How long a task "runs" on reference hardware, in modelled seconds: the task's own hint when it carries
 * one, else a draw from the Galaxy workload model (bench/sim/workload.ts, the same model bench:sim uses)
 * for the tool it names, or for a tool drawn from the usegalaxy.eu mix when it names none.
 */
export class DurationModel {
  private readonly workload: Workload;
  private readonly draw: Draw;
  private readonly byName: Map<string, Tool>;

  constructor(seed: number, workload: Workload = loadWorkload(simDataDir())) {
    this.workload = workload;
    this.draw = new Draw(mulberry32(seed));
    this.byName = new Map(workload.tools.map((t) => [t.name, t]));
  }

  /** The tool a task stands for: its `galaxy.tool` tag when the model knows it, else one from the mix. */
  toolOf(tags: Readonly<Record<string, string>>): Tool {
    const named = this.byName.get(tags[SIM_TOOL_TAG] ?? '');
    return named ?? this.workload.tools[this.draw.categorical(this.workload.cumulative)];
  }

  /** Modelled run time (seconds on reference hardware) and input size (GB, for the tool's output text). */
  model(tags: Readonly<Record<string, string>>, tool: Tool): { seconds: number; inputGb: number } {
    const inputGb = drawInputGb(tool, this.draw);
    const hint = hintSeconds(tags[SIM_SECONDS_TAG]);
    return { seconds: hint ?? drawRuntimeS(tool, inputGb, this.draw), inputGb };
  }

  /** A number in [0, 1) from the same seeded stream, for the site's executor error rate. */
  uniform(): number {
    return this.draw.uniform();
  }
}

/** A hint is a non-negative decimal number of seconds; anything else is no hint (the site validates it). */
export function hintSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) return undefined;
  return Number(raw);
}
