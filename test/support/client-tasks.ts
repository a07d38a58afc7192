/**
 * Tasks as real TES clients send them, request for request: the TES client suite submits them and the
 * validation benchmark times them. Galaxy's comes from pulsar-tes-task.ts.
 */

/** Snakemake's (py-tes 0.4): integer ram_gb, a script as inline content, file:// URLs. */
export const SNAKEMAKE_TASK = {
  name: 'snakejob.align.3.sh',
  description: 'Aligning sample A',
  inputs: [
    { url: 'file:///home/u/wf/data/A.fq', path: '/tmp/data/A.fq', type: 'FILE' },
    { path: '/tmp/run_snakemake.sh', type: 'FILE', content: '#!/bin/sh\npython -m snakemake ...' },
  ],
  outputs: [{ url: 'file:///home/u/wf/results/A.bam', path: '/tmp/results/A.bam', type: 'FILE' }],
  resources: { cpu_cores: 4, ram_gb: 8, disk_gb: 0 },
  executors: [
    {
      image: 'snakemake/snakemake:v8.20.1',
      command: ['/bin/bash', '/tmp/run_snakemake.sh'],
      workdir: '/tmp',
    },
  ],
};

/** Nextflow's (nf-ga4gh): an output without type, a glob output with path_prefix. */
export const NEXTFLOW_TASK = {
  name: 'foo (1)',
  inputs: [{ url: 's3://bkt/work/ab/12cd/.command.sh', path: '/work/.command.sh', type: 'FILE' }],
  outputs: [
    { url: 's3://bkt/work/ab/12cd/.command.out', path: '/work/.command.out' },
    { url: 's3://bkt/work/ab/12cd', path: '/work/*.bam', path_prefix: '/work', type: 'FILE' },
  ],
  resources: { cpu_cores: 2, ram_gb: 4.0, disk_gb: 10.0, backend_parameters_strict: false },
  executors: [
    {
      image: 'ubuntu:22.04',
      workdir: '/work',
      command: ['bash', '-o', 'pipefail', '-c', 'bash /work/.command.run'],
    },
  ],
};
