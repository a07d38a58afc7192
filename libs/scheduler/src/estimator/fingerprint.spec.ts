import { pulsarTesTask } from '../../../../test/support/pulsar-tes-task';
import { commandWords, imageLabel, taskFingerprint } from './fingerprint';
import { ExecutorShape, MAX_JOB_MESSAGE_CHARS, readGalaxyJobMessage } from './galaxy-job-message';

const BWA = 'quay.io/biocontainers/bwa-mem2:2.2.1--hd03093a_2';

function galaxyExecutors(over: Partial<Parameters<typeof pulsarTesTask>[0]> = {}): ExecutorShape[] {
  const task = pulsarTesTask({
    jobId: '4711',
    galaxyUrl: 'https://usegalaxy.eu',
    jobKey: 'secret-job-key',
    toolContainer: BWA,
    inputs: [
      { name: 'reads_1.fastq', galaxyPath: '/data/dnb01/000/dataset_1.dat' },
      { name: 'ref.fasta', galaxyPath: '/data/dnb01/000/dataset_2.dat' },
    ],
    outputs: ['/data/dnb01/000/dataset_3.dat'],
    commandLine: 'bwa-mem2 mem -t 8 ref.fasta reads_1.fastq > out.sam',
    ...over,
  });
  return (task.document as { executors: ExecutorShape[] }).executors;
}

/** Nextflow's TES executor: the process's container runs its `.command.run` under bash. */
const nextflow = (image: string): ExecutorShape[] => [
  { image, command: ['/bin/bash', '-o', 'pipefail', '-c', 'bash .command.run 2>&1 | tee .command.log'] },
];

/** Snakemake's TES executor: every rule runs snakemake itself in one image; the rule tells them apart. */
const snakemake = (rule: string): ExecutorShape[] => [
  {
    image: 'snakemake/snakemake:v8.20.0',
    command: [
      '/bin/bash',
      '-c',
      `python -m snakemake --snakefile /workdir/Snakefile --target-jobs '${rule}:sample=A' --allowed-rules ${rule} --cores 4`,
    ],
  },
];

describe('taskFingerprint on real task shapes', () => {
  it.each<[string, ExecutorShape[], string | undefined, string | undefined]>([
    [
      'Galaxy coexecution with the tool id in the job message',
      galaxyExecutors({
        tool: {
          id: 'toolshed.g2.bx.psu.edu/repos/iuc/bwa_mem2/bwa_mem2/2.2.1+galaxy1',
          version: '2.2.1+galaxy1',
        },
      }),
      `galaxy toolshed.g2.bx.psu.edu/repos/iuc/bwa_mem2/bwa_mem2/2.2.1+galaxy1@2.2.1+galaxy1 ${BWA}`,
      'bwa_mem2 2.2.1+galaxy1',
    ],
    ['Galaxy coexecution, tool from the image alone', galaxyExecutors(), `galaxy  ${BWA}`, 'bwa-mem2 2.2.1'],
    [
      'Galaxy without a container (pulsar-submit --wait), tool id known',
      galaxyExecutors({ toolContainer: null, tool: { id: 'cat1', version: '1.0.0' } }),
      'galaxy cat1@1.0.0',
      'cat1 1.0.0',
    ],
    [
      'Galaxy without a container or a readable tool',
      galaxyExecutors({ toolContainer: null }),
      undefined,
      undefined,
    ],
    [
      'py-tes: a command in an image',
      [{ image: 'ubuntu:22.04', command: ['md5sum', '/data/in.txt'] }],
      'ubuntu:22.04 md5sum',
      'md5sum (ubuntu 22.04)',
    ],
    [
      'py-tes: a shell script in a biocontainer',
      [
        {
          image: 'docker://quay.io/biocontainers/samtools:1.19--h50ea8bc_0',
          command: ['sh', '-c', 'samtools sort -@ 4 in.bam -o out.bam'],
        },
      ],
      'quay.io/biocontainers/samtools:1.19--h50ea8bc_0 samtools sort',
      'samtools sort (samtools 1.19)',
    ],
    [
      'Nextflow: the process container names the tool',
      nextflow('quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0'),
      'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0 bash',
      'bash (fastqc 0.12.1)',
    ],
    [
      'Snakemake: the rule names the tool',
      snakemake('bwa_map'),
      'snakemake/snakemake:v8.20.0 python snakemake rule:bwa_map',
      'python snakemake rule:bwa_map (snakemake v8.20.0)',
    ],
    ['no executors', [], undefined, undefined],
  ])('%s', (_name, executors, key, label) => {
    const fp = taskFingerprint(executors);
    expect(fp?.key).toBe(key);
    expect(fp?.label).toBe(label);
  });

  it('ignores what differs between jobs of one tool: job ids, keys, paths, arguments', () => {
    const a = galaxyExecutors({ jobId: '1', jobKey: 'k1' });
    const b = galaxyExecutors({ jobId: '2', jobKey: 'k2', commandLine: 'bwa-mem2 mem other.fa x.fq' });
    expect(taskFingerprint(a)).toEqual(taskFingerprint(b));
    expect(taskFingerprint([{ image: 'alpine', command: ['md5sum', '/a'] }])).toEqual(
      taskFingerprint([{ image: 'alpine', command: ['md5sum', '/b', '/c'] }]),
    );
  });

  it('tells tools apart: another image, another command, another Snakemake rule', () => {
    const keys = [
      taskFingerprint(galaxyExecutors())?.key,
      taskFingerprint(galaxyExecutors({ toolContainer: 'quay.io/biocontainers/fastp:0.23.4--h5f740d0_0' }))
        ?.key,
      taskFingerprint([{ image: 'alpine', command: ['md5sum', '/a'] }])?.key,
      taskFingerprint([{ image: 'alpine', command: ['sha256sum', '/a'] }])?.key,
      taskFingerprint(snakemake('bwa_map'))?.key,
      taskFingerprint(snakemake('samtools_sort'))?.key,
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('commandWords and imageLabel', () => {
  it.each<[string[], string]>([
    [['bwa', 'mem', '-t', '8', 'ref.fa'], 'bwa mem'],
    [['/usr/bin/python3', 'script.py'], 'python3 script.py'],
    [['python3', '/opt/script.py', '--x'], 'python3'],
    [['bash', '-c', '  gatk HaplotypeCaller -R ref.fa'], 'gatk HaplotypeCaller'],
    [['echo', '42'], 'echo'],
    [[], ''],
  ])('%j -> %s', (command, words) => expect(commandWords(command)).toBe(words));

  it.each<[string, string]>([
    [BWA, 'bwa-mem2 2.2.1'],
    ['docker://ubuntu:latest', 'ubuntu'],
    ['alpine', 'alpine'],
    ['ghcr.io/org/tool:1.2@sha256:abcd', 'tool 1.2'],
  ])('%s -> %s', (image, label) => expect(imageLabel(image)).toBe(label));
});

describe('readGalaxyJobMessage', () => {
  it('finds the tool, the submitting Galaxy and the inputs of a Galaxy coexecution task', () => {
    const message = readGalaxyJobMessage(galaxyExecutors({ tool: { id: 'bwa_mem2', version: '2.2.1' } }));
    expect(message?.toolId).toBe('bwa_mem2');
    expect(message?.toolVersion).toBe('2.2.1');
    expect(message?.galaxyUrl).toBe('https://usegalaxy.eu');
    expect(message?.inputs.map((i) => new URL(i.url).searchParams.get('path'))).toEqual([
      '/data/dnb01/000/dataset_1.dat',
      '/data/dnb01/000/dataset_2.dat',
    ]);
  });

  const staging = (args: string[]): ExecutorShape[] => [
    { image: 'galaxy/pulsar-pod-staging:0.15.0.2', command: ['pulsar-submit', ...args] },
  ];
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it.each<[string, ExecutorShape[]]>([
    ['not a Galaxy task', [{ image: 'alpine', command: ['echo', '--base64', b64('{}')] }]],
    ['no --base64 argument', staging(['--no-wait'])],
    ['--base64 without a value', staging(['--base64'])],
    ['not base64', staging(['--base64', '%%%not-base64%%%'])],
    ['base64 of something that is not JSON', staging(['--base64', b64('not json')])],
    ['JSON that is not an object', staging(['--base64', b64('[1,2,3]')])],
    ['too large to decode', staging(['--base64', 'A'.repeat(MAX_JOB_MESSAGE_CHARS + 4)])],
  ])('ignores a message it cannot read: %s', (_name, executors) => {
    const message = readGalaxyJobMessage(executors);
    expect(message === undefined || (message.toolId === undefined && message.inputs.length === 0)).toBe(true);
  });

  it('skips entries of the wrong shape and keeps the rest', () => {
    const message = {
      setup_params: { tool_id: 42, tool_version: null },
      remote_staging: {
        setup: [
          null,
          { type: 'input', action: { url: 'ftp://elsewhere/x' } },
          { type: 'input', action: 'nope' },
          { type: 'output', action: { url: 'https://g.example/api/jobs/1/files?path=o' } },
          { type: 'input', action: { url: 'https://g.example/api/jobs/1/files?path=i' } },
        ],
      },
    };
    const read = readGalaxyJobMessage(staging(['--base64', b64(JSON.stringify(message))]));
    expect(read).toEqual({
      inputs: [{ url: 'https://g.example/api/jobs/1/files?path=i' }],
      galaxyUrl: 'https://g.example',
    });
  });
});
