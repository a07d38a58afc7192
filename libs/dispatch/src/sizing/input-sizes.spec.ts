import { RunTimeEstimator, type TaskRequirement } from '@constellation/scheduler';
import { describeSizes, formatBytes, learnedInput, sizableUrls, sizeInputs } from './input-sizes';

const GiB = 2 ** 30;

function task(...urls: string[]): TaskRequirement {
  return { id: 't', inputs: [...urls.map((url) => ({ url, sizeBytes: 0 })), { sizeBytes: 5 }] };
}

describe('input sizes', () => {
  const heads: Record<string, number> = { 'https://store/reads': 3.2 * GiB };
  const head = (url: string) => heads[url];

  it('takes the HEAD size first, then a share of the learned median input, then the default', () => {
    const known = task('https://store/reads', 'https://store/ref');
    sizeInputs(known, head, { bytes: 2 * GiB, label: 'bwa-mem2 2.2.1' });
    expect(known.inputs.map((i) => [i.sizeBytes, i.sizeSource])).toEqual([
      [3.2 * GiB, 'HEAD: 3.2 GiB'],
      [GiB, 'learned median input of bwa-mem2 2.2.1'],
      // Inline content travels with the job: it is not sized.
      [5, undefined],
    ]);
    const unknown = task('https://store/other');
    sizeInputs(unknown, head, undefined);
    expect(unknown.inputs[0].sizeBytes).toBe(64 * 2 ** 20);
    expect(unknown.inputs[0].sizeSource).toBe('default 64 MiB');
  });

  it("never uses a HEAD size for an input the task's own staging fetches", () => {
    const staged: TaskRequirement = {
      id: 't',
      inputs: [{ url: 'https://store/reads', sizeBytes: 0, stagedByTask: true }],
    };
    sizeInputs(staged, head, undefined);
    expect(staged.inputs[0].sizeSource).toBe('default 64 MiB');
  });

  it('lists the URLs to size, each allowed to carry a credential only where its store says so', () => {
    const t: TaskRequirement = {
      id: 't',
      inputs: [
        { url: 'https://galaxy/jobs/1?job_key=k', sizeBytes: 0, dataStoreId: 'galaxy' },
        { url: 'https://s3/b/reads?X-Amz-Signature=s', sizeBytes: 0, dataStoreId: 's3' },
        { url: 'https://nowhere/reads', sizeBytes: 0 },
        { url: 'https://galaxy/jobs/1/staged', sizeBytes: 0, dataStoreId: 'galaxy', stagedByTask: true },
        { sizeBytes: 5 },
      ],
    };
    const stores = [
      { id: 'galaxy', headSignedUrls: true },
      { id: 's3', headSignedUrls: false },
    ];
    expect(sizableUrls([t], stores)).toEqual([
      { url: 'https://galaxy/jobs/1?job_key=k', headSigned: true },
      { url: 'https://s3/b/reads?X-Amz-Signature=s', headSigned: false },
      { url: 'https://nowhere/reads', headSigned: false },
    ]);
  });

  it('describes the sizes in one phrase', () => {
    const t = task('https://store/reads', 'https://store/a', 'https://store/b');
    sizeInputs(t, head, undefined);
    expect(describeSizes(t.inputs.filter((i) => i.url))).toBe(
      '3.3 GiB in all (HEAD: 3.2 GiB; default 64 MiB x 2)',
    );
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [64 * 2 ** 20, '64 MiB'],
    [1.5 * 2 ** 40, '1.5 TiB'],
    [150 * 2 ** 20, '150 MiB'],
  ])('formats %d bytes as %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it("learns a tool's median input from its completions, once it has an estimate", () => {
    const estimator = new RunTimeEstimator();
    const fingerprint = { key: 'img bwa', label: 'bwa' };
    const at = 1_000_000;
    const run = (bytes: number) =>
      estimator.observe({
        tool: 'img bwa',
        toolLabel: 'bwa',
        siteId: 's',
        inputBytes: bytes,
        cores: 1,
        runS: 60,
        at,
      });
    run(1e9);
    expect(learnedInput(estimator, fingerprint, at)).toBeUndefined();
    run(4e9);
    run(16e9);
    const learned = learnedInput(estimator, fingerprint, at);
    expect(learned?.label).toBe('bwa');
    expect(learned?.bytes).toBeCloseTo(4e9, -3);
    expect(learnedInput(estimator, undefined, at)).toBeUndefined();
  });
});
