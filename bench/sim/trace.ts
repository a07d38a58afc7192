import { mulberry32 } from '@constellation/scheduler';
import { CapacityScenario, Network } from './network';
import { Draw } from './random';
import { drawInputGb, drawRuntimeS, outputShare, Tool, tpvResources, Workload } from './workload';

export interface SimTask {
  id: number;
  submitter: string;
  tool: number;
  arrival: number;
  cores: number;
  memGib: number;
  gpus: number;
  inputBytes: number;
  outputBytes: number;
  /** The truth the broker never sees: run time on reference hardware. */
  refRunS: number;
  /** Per-task multiplier on the modelled transfer time (congestion, server load). */
  transferNoise: number;
  burst: boolean;
}

/** [A] Arrival model parameters (galaxy-workload.md, "A workload model we can defend", item 5). */
export const ARRIVALS = {
  meanExtraJobsPerBatch: 9,
  diurnalAmplitude: 0.5,
  peakHour: 14,
  trainingUsers: 30,
  trainingWindowS: 600,
  trainingHour: 10,
  trainingMeanExtraJobs: 2,
  trainingTools: [
    'fastqc',
    'bwa_mem',
    'hisat2',
    'rna_star',
    'featurecounts',
    'bowtie2',
    'trimmomatic',
    'minimap2',
  ],
};

/** [C2]/[A] Share weights: usegalaxy.eu and .fr from their 5-year job counts (M), the rest equal and small. */
export const SUBMITTER_WEIGHTS: Readonly<Record<string, number>> = {
  'usegalaxy.eu': 76.6,
  'usegalaxy.fr': 6.4,
  'usegalaxy.be': 1,
  'usegalaxy.it': 1,
  'usegalaxy.es': 1,
  'usegalaxy.cz': 1,
  'usegalaxy.no': 1,
};

/** [A] Per-transfer noise on the bandwidth model (sigma of ln). */
export const TRANSFER_NOISE_SIGMA = 0.3;

export interface Trace {
  tasks: SimTask[];
  rejected: number;
  batchRatePerS: number;
  meanCoreSeconds: number;
}

function feasibleSomewhere(r: { cores: number; memGib: number; gpus: number }, network: Network): boolean {
  return network.sites.some(
    (s) => r.cores <= s.perTask.cores && r.memGib <= s.perTask.memoryGib && r.gpus <= s.perTask.gpus,
  );
}

function makeJob(
  w: Workload,
  toolIdx: number,
  draw: Draw,
): { tool: Tool; gb: number; res: { cores: number; memGib: number; gpus: number } | null; refRunS: number } {
  const tool = w.tools[toolIdx];
  const gb = drawInputGb(tool, draw);
  const res = tpvResources(tool.name, gb, w.raw.get(tool.name));
  return { tool, gb, res, refRunS: drawRuntimeS(tool, gb, draw) };
}

/** Mean core-seconds per job on reference hardware, by sampling the generator with a fixed seed. */
export function meanCoreSeconds(w: Workload, samples = 400_000): number {
  const draw = new Draw(mulberry32(0x5eed));
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    const job = makeJob(w, draw.categorical(w.cumulative), draw);
    if (job.res) sum += job.res.cores * job.refRunS;
  }
  return sum / samples;
}

/**
 * Compound Poisson batches with a diurnal sinusoid, plus one training burst a day. The rate is set so that
 * the offered work is `utilisation` of the network's cores on reference hardware.
 */
export function generateTrace(
  w: Workload,
  network: Network,
  capacity: CapacityScenario,
  utilisation: number,
  horizonS: number,
  seed: number,
  coreSeconds: number,
): Trace {
  const draw = new Draw(mulberry32(seed * 7919 + Math.round(utilisation * 1000)));
  const totalCores = network.sites.reduce((a, s) => a + capacity.totals(s).cores, 0);
  const jobsPerS = (utilisation * totalCores) / coreSeconds;
  const batchRate = jobsPerS / (1 + ARRIVALS.meanExtraJobsPerBatch);
  const submitters = Object.keys(SUBMITTER_WEIGHTS);
  const subCum: number[] = [];
  let acc = 0;
  for (const s of submitters) subCum.push((acc += SUBMITTER_WEIGHTS[s]));

  const tasks: SimTask[] = [];
  let rejected = 0;
  const add = (submitter: string, toolIdx: number, at: number, burst: boolean): void => {
    const job = makeJob(w, toolIdx, draw);
    if (!job.res || !feasibleSomewhere(job.res, network)) {
      rejected++;
      return;
    }
    const inputBytes = Math.round(job.gb * 1e9);
    tasks.push({
      id: 0,
      submitter,
      tool: toolIdx,
      arrival: at,
      cores: job.res.cores,
      memGib: job.res.memGib,
      gpus: job.res.gpus,
      inputBytes,
      outputBytes: Math.round(inputBytes * outputShare(job.tool)),
      refRunS: job.refRunS,
      transferNoise: Math.exp(TRANSFER_NOISE_SIGMA * draw.normal()),
      burst,
    });
  };

  const peak = ARRIVALS.peakHour * 3600;
  const maxRate = batchRate * (1 + ARRIVALS.diurnalAmplitude);
  for (let t = draw.exponential(maxRate); t < horizonS; t += draw.exponential(maxRate)) {
    const factor = 1 + ARRIVALS.diurnalAmplitude * Math.cos((2 * Math.PI * (t - peak)) / 86400);
    if (draw.uniform() * (1 + ARRIVALS.diurnalAmplitude) > factor) continue;
    const submitter = submitters[draw.categorical(subCum)];
    const toolIdx = draw.categorical(w.cumulative);
    const k = 1 + draw.geometric(ARRIVALS.meanExtraJobsPerBatch);
    for (let j = 0; j < k; j++) add(submitter, toolIdx, t, false);
  }
  const trainingIdx = ARRIVALS.trainingTools.map((name) => w.tools.findIndex((t) => t.name === name));
  for (let day = 0; day * 86400 < horizonS; day++) {
    const start = day * 86400 + ARRIVALS.trainingHour * 3600;
    if (start >= horizonS) break;
    const toolIdx = trainingIdx[Math.floor(draw.uniform() * trainingIdx.length)];
    for (let u = 0; u < ARRIVALS.trainingUsers; u++) {
      const at = start + draw.uniform() * ARRIVALS.trainingWindowS;
      const k = 1 + draw.geometric(ARRIVALS.trainingMeanExtraJobs);
      for (let j = 0; j < k; j++) add('usegalaxy.eu', toolIdx, at, true);
    }
  }
  tasks.sort((a, b) => a.arrival - b.arrival);
  tasks.forEach((t, i) => (t.id = i));
  return { tasks, rejected, batchRatePerS: batchRate, meanCoreSeconds: coreSeconds };
}
