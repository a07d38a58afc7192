import * as fs from 'fs';
import * as path from 'path';
import { Draw, percentile } from './random';

interface RawRuntime {
  median: number;
  p90: number;
  lognormal_sigma: number;
  n: number;
}

interface RawTool {
  tool: string;
  class: string;
  eu_share_pct: number;
  tpv_cores: number | string;
  tpv_mem_gb: number | string;
  runtime_s: RawRuntime | null;
}

interface RawWorkload {
  tool_mix: RawTool[];
  class_runtime_proxies: { 'text-utility': { median_s: number; lognormal_sigma: number } };
  runtime_all_jobs_usegalaxy_org: { quantiles_s: Record<string, number> };
}

export type InputClass = 'reads' | 'bam' | 'small';

export interface Tool {
  name: string;
  cls: string;
  share: number;
  input: InputClass;
  runtimeMedianS: number;
  runtimeSigma: number;
  /** Where the runtime numbers come from: the tool itself, or a named proxy [A]. */
  runtimeBasis: string;
  /** usegalaxy.org job count of the measured version, for the self-check's .org mix. */
  orgJobs: number;
}

/** [D1] Reads inputs: ln(GB) ~ N(-2.25, 2.73), truncated to [1 MB, 100 GB]. */
const READS = { mu: -2.25, sigma: 2.73 };
/** [D1] BAM inputs: median 1.33 GB, sigma 1.13. */
const BAM = { median: 1.33, sigma: 1.13 };
/** [A] Utilities: median 1 MB, sigma 2. */
const SMALL = { median: 0.001, sigma: 2 };
const MIN_INPUT_GB = 0.001;
const MAX_INPUT_GB = 100;
/** [D1] Run time grows with the square root of the input; the residual sigma of that fit. */
const SIZE_EXPONENT = 0.5;
const RESIDUAL_SIGMA = 1.3;
/** [A] kraken2's memory depends on its database; the 8 GB standard-8 hash. */
export const KRAKEN_DB_GB = 8;

const BAM_TOOLS = new Set([
  'stringtie',
  'featurecounts',
  'samtools_view',
  'samtools_stats',
  'samtools_sort',
  'qualimap_bamqc',
  'picard_MarkDuplicates',
  'htseq_count',
  'bedtools_genomecoveragebed',
  'macs2_callpeak',
  'freebayes',
]);
const READS_CLASSES = new Set(['qc', 'qc-trim', 'trim', 'mapping', 'classification', 'assembly']);

/** [C]/[A] Run-time proxies for tools the 2013-2018 data does not cover: [proxy tool, factor]. */
const PROXIES: Readonly<Record<string, [string, number]>> = {
  fastp: ['fastqc', 1],
  minimap2: ['bwa_mem', 1],
  kraken2: ['featurecounts', 3],
  lofreq_call: ['text-utility', 4],
  lofreq_filter: ['text-utility', 4],
  lofreq_indelqual: ['text-utility', 4],
  lofreq_viterbi: ['text-utility', 4],
  snpSift_extractFields: ['text-utility', 4],
  // The ones below are this simulator's assumptions, by tool class.
  snpeff_sars_cov_2: ['text-utility', 4],
  bcftools_consensus: ['text-utility', 4],
  ivar_trim: ['text-utility', 4],
  sdf_to_tab: ['text-utility', 4],
  ctb_alignit: ['text-utility', 4],
  samtools_view: ['samtools_stats', 1],
  qualimap_bamqc: ['samtools_stats', 1],
  abricate: ['prokka', 1],
  bakta: ['prokka', 1],
  cutadapt: ['trimmomatic', 1],
  spades: ['unicycler', 1],
  flye: ['unicycler', 1],
  metaspades: ['unicycler', 1],
  trinity: ['unicycler', 1],
  alphafold: ['unicycler', 1],
  ncbi_blastn_wrapper: ['bowtie2', 1],
};

export interface Resources {
  cores: number;
  memGib: number;
  gpus: number;
}

/**
 * TPV shared-database rules at input size `gb` [C3], EU overrides where the source gives them; null when TPV
 * refuses the job. TPV's "GB" is passed as `{mem}G` to the batch system, so it is GiB here.
 */
export function tpvResources(tool: string, gb: number, fallback: RawTool | undefined): Resources | null {
  const r = (cores: number, memGib: number, gpus = 0): Resources => ({ cores, memGib, gpus });
  switch (tool) {
    case 'fastqc':
      return r(3, Math.min(Math.max(Math.trunc(7 * gb), 5.6), 64));
    case 'fastp':
      return r(4, Math.min(Math.max(Math.trunc(gb * 6), 8), 58));
    case 'kraken2':
      return r(16, Math.min(KRAKEN_DB_GB * 1.2 + 48, 980));
    case 'spades':
      return r(20, Math.min(Math.max(Math.trunc(gb * 32), 14), 240));
    case 'freebayes':
      return r(10, 9 + gb);
    case 'flye':
      return r(20, Math.min(Math.max(gb * 1.2, 3.8), 256));
    case 'metaspades':
      if (gb < 0.05) return r(2, 7.6);
      if (gb < 1) return r(8, Math.min(25.3 + 13.3 * gb, 350));
      if (gb < 60) return r(16, Math.min(25.3 + 13.3 * gb, 350));
      return null;
    case 'hisat2':
      if (gb < 0.5) return r(2, 5.6);
      if (gb < 15) return r(8, 28);
      if (gb < 30) return r(16, 58);
      return r(32, 120);
    case 'unicycler':
      if (gb < 0.05) return r(1, 3.8);
      if (gb < 2) return r(8, 28);
      return r(16, 60);
    case 'trinity':
      if (gb < 0.1) return r(1, 4);
      if (gb < 1) return r(12, 92);
      return null;
    case 'alphafold':
      return r(10, 32, 1);
    default: {
      const cores = typeof fallback?.tpv_cores === 'number' ? fallback.tpv_cores : 1;
      const mem = typeof fallback?.tpv_mem_gb === 'number' ? fallback.tpv_mem_gb : cores * 3.8;
      return r(cores, mem);
    }
  }
}

export interface Workload {
  tools: Tool[];
  cumulative: number[];
  raw: Map<string, RawTool>;
  textUtility: { median: number; sigma: number };
  orgQuantiles: Record<string, number>;
}

export const OTHER_TOOL = 'other (text-utility)';

export function loadWorkload(dataDir = path.join(__dirname, 'data')): Workload {
  const raw = JSON.parse(fs.readFileSync(path.join(dataDir, 'galaxy-workload.json'), 'utf8')) as RawWorkload;
  const tu = raw.class_runtime_proxies['text-utility'];
  const byName = new Map(raw.tool_mix.map((t) => [t.tool, t]));
  const runtimeOf = (name: string): { median: number; sigma: number; basis: string; n: number } => {
    const own = byName.get(name)?.runtime_s;
    if (own) return { median: own.median, sigma: own.lognormal_sigma, basis: 'own', n: own.n };
    const proxy = PROXIES[name];
    if (proxy) {
      const [p, factor] = proxy;
      const base =
        p === 'text-utility'
          ? { median: tu.median_s, lognormal_sigma: tu.lognormal_sigma }
          : byName.get(p)?.runtime_s;
      if (!base) throw new Error(`proxy ${p} of ${name} has no runtime`);
      return { median: base.median * factor, sigma: base.lognormal_sigma, basis: `${p} x${factor}`, n: 0 };
    }
    return { median: tu.median_s, sigma: tu.lognormal_sigma, basis: 'text-utility x1', n: 0 };
  };
  const listed = raw.tool_mix.reduce((a, t) => a + t.eu_share_pct, 0);
  const tools: Tool[] = raw.tool_mix
    .filter((t) => t.class !== 'ingest')
    .map((t) => {
      const rt = runtimeOf(t.tool);
      return {
        name: t.tool,
        cls: t.class,
        share: t.eu_share_pct,
        input: BAM_TOOLS.has(t.tool)
          ? 'bam'
          : (READS_CLASSES.has(t.class) && t.tool !== 'multiqc') || t.tool === 'salmon'
            ? 'reads'
            : 'small',
        runtimeMedianS: rt.median,
        runtimeSigma: rt.sigma,
        runtimeBasis: rt.basis,
        orgJobs: rt.n,
      };
    });
  // [C2] The 54 listed rows are 66.5 % of EU jobs; the rest are tools outside the table: text utilities.
  tools.push({
    name: OTHER_TOOL,
    cls: 'text-utility',
    share: 100 - listed,
    input: 'small',
    runtimeMedianS: tu.median_s,
    runtimeSigma: tu.lognormal_sigma,
    runtimeBasis: 'text-utility (GRT, 11 tools)',
    orgJobs: 363_749,
  });
  const cumulative: number[] = [];
  let acc = 0;
  for (const t of tools) cumulative.push((acc += t.share));
  return {
    tools,
    cumulative,
    raw: byName,
    textUtility: { median: tu.median_s, sigma: tu.lognormal_sigma },
    orgQuantiles: raw.runtime_all_jobs_usegalaxy_org.quantiles_s,
  };
}

export function drawInputGb(tool: Tool, draw: Draw): number {
  let gb: number;
  if (tool.input === 'reads') gb = Math.exp(READS.mu + READS.sigma * draw.normal());
  else if (tool.input === 'bam') gb = draw.lognormal(BAM.median, BAM.sigma);
  else gb = draw.lognormal(SMALL.median, SMALL.sigma);
  return Math.min(MAX_INPUT_GB, Math.max(MIN_INPUT_GB, gb));
}

/** True run time on reference hardware: the tool's log-normal, conditioned on input size for data tools. */
export function drawRuntimeS(tool: Tool, gb: number, draw: Draw): number {
  if (tool.input === 'small') return Math.max(1, draw.lognormal(tool.runtimeMedianS, tool.runtimeSigma));
  const classMedian = tool.input === 'reads' ? Math.exp(READS.mu) : BAM.median;
  const median = tool.runtimeMedianS * (gb / classMedian) ** SIZE_EXPONENT;
  return Math.max(1, draw.lognormal(median, RESIDUAL_SIGMA));
}

/** [A] Output bytes as a share of input bytes. */
export function outputShare(tool: Tool): number {
  if (tool.cls === 'mapping') return 0.5;
  if (tool.cls === 'qc' || tool.cls === 'qc-trim') return 0.01;
  return 1;
}

export interface SelfCheck {
  perTool: {
    tool: string;
    input: InputClass;
    wantMedian: number;
    gotMedian: number;
    wantP90: number;
    gotP90: number;
  }[];
  perToolOk: boolean;
  orgMix: { quantile: string; published: number; generated: number; ratio: number }[];
  orgCoverage: number;
}

/**
 * Two checks of the generator against the published numbers. (1) Each tool with measured run times: the
 * sampler, fed the tool's own input-size distribution, must give back its median within 10 %, and for tools
 * without size conditioning its p90 too (for data tools the model's residual sigma 1.3 plus the input spread
 * widens p90 on purpose, so that ratio is reported, not asserted). (2) The usegalaxy.org mix: tools
 * weighted by their .org job counts must approach the all-jobs percentiles; the table covers only part of
 * .org's jobs, so this one is reported with its ratios rather than asserted.
 */
export function selfCheck(w: Workload, draw: Draw, samples = 20_000): SelfCheck {
  const perTool: SelfCheck['perTool'] = [];
  for (const tool of w.tools.filter((t) => t.runtimeBasis === 'own')) {
    const xs = Array.from({ length: samples }, () => drawRuntimeS(tool, drawInputGb(tool, draw), draw)).sort(
      (a, b) => a - b,
    );
    const rawRt = w.raw.get(tool.name)?.runtime_s as RawRuntime;
    perTool.push({
      tool: tool.name,
      input: tool.input,
      wantMedian: rawRt.median,
      gotMedian: percentile(xs, 50),
      wantP90: rawRt.p90,
      gotP90: percentile(xs, 90),
    });
  }
  const perToolOk = perTool.every(
    (c) =>
      Math.abs(c.gotMedian / c.wantMedian - 1) <= 0.1 &&
      (c.input !== 'small' || Math.abs(c.gotP90 / c.wantP90 - 1) <= 0.1),
  );
  const measured = w.tools.filter((t) => t.orgJobs > 0);
  const cum: number[] = [];
  let acc = 0;
  for (const t of measured) cum.push((acc += t.orgJobs));
  const n = 200_000;
  const xs: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const tool = measured[draw.categorical(cum)];
    xs[i] = drawRuntimeS(tool, drawInputGb(tool, draw), draw);
  }
  xs.sort((a, b) => a - b);
  const orgMix = ['p50', 'p90', 'p99'].map((q) => {
    const generated = percentile(xs, Number(q.slice(1)));
    const published = w.orgQuantiles[q];
    return { quantile: q, published, generated, ratio: generated / published };
  });
  return { perTool, perToolOk, orgMix, orgCoverage: acc / 4_330_000 };
}
