import type { TaskDocument } from '@constellation/tes';
import { DEFAULT_INPUT_BYTES } from '../task-requirement';
import { completionOf } from './completion';

const document = (over: Partial<TaskDocument> = {}): TaskDocument => ({
  inputs: [{ url: 'https://data.example.org/a.fastq', path: '/in/a.fastq', type: 'FILE' }],
  outputs: [],
  executors: [
    { image: 'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0', command: ['fastqc', '/in/a.fastq'] },
  ],
  volumes: [],
  tags: {},
  resources: { cpu_cores: 4 },
  ...over,
});

const at = (s: number) => new Date(s * 1000);
const iso = (s: number) => at(s).toISOString();

describe('completionOf', () => {
  it.each<
    [
      string,
      Parameters<typeof completionOf>[1],
      string | undefined,
      { runS: number; queueS?: number } | undefined,
    ]
  >([
    [
      'site times win over the broker events',
      { placedAt: at(100), startedAt: at(130), finishedAt: at(400) },
      JSON.stringify({ start_time: iso(120), end_time: iso(380) }),
      { runS: 260, queueS: 20 },
    ],
    [
      'events when the site gave no start time',
      { placedAt: at(100), startedAt: at(130), finishedAt: at(400) },
      undefined,
      { runS: 270, queueS: 30 },
    ],
    [
      'site times of a task the broker never saw running',
      { placedAt: at(100), finishedAt: at(400) },
      JSON.stringify({ start_time: iso(110), end_time: iso(150) }),
      { runS: 40, queueS: 10 },
    ],
    [
      'no start known at all: nothing to learn',
      { placedAt: at(100), finishedAt: at(400) },
      undefined,
      undefined,
    ],
    [
      'unparseable site times fall back to events',
      { startedAt: at(130), finishedAt: at(400) },
      JSON.stringify({ start_time: 'yesterday', end_time: iso(380) }),
      { runS: 270, queueS: undefined },
    ],
  ])('%s', (_name, times, log, expected) => {
    const c = completionOf(
      {
        document: document(),
        siteId: 's1',
        log: log === undefined ? undefined : { logs: [], ...JSON.parse(log) },
      },
      times,
    );
    if (expected === undefined) {
      expect(c).toBeUndefined();
      return;
    }
    expect(c).toEqual({
      tool: 'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0 fastqc',
      toolLabel: 'fastqc (fastqc 0.12.1)',
      siteId: 's1',
      inputBytes: DEFAULT_INPUT_BYTES,
      cores: 4,
      runS: expected.runS,
      queueS: expected.queueS,
      at: 400,
    });
  });

  it('learns the site but no tool from a task that names none', () => {
    const c = completionOf(
      { document: document({ executors: [] }), siteId: 's1' },
      { startedAt: at(0), finishedAt: at(10) },
    );
    expect(c?.tool).toBeUndefined();
    expect(c?.runS).toBe(10);
  });
});
