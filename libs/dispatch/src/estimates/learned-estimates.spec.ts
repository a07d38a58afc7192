import { RunTimeEstimator } from '@constellation/scheduler';
import { GB, site, task } from '../../../scheduler/src/testing/fixtures';
import { LearnedEstimates } from './learned-estimates';

const NOW = 1_700_000_000;
const TOOL = { key: 'tool-a', label: 'tool A' };

/** An estimator that learned tool A at site `fast` over inputs of 1 to 64 GB (run time grows with size). */
function learned(): RunTimeEstimator {
  const estimator = new RunTimeEstimator();
  for (let i = 0; i < 40; i++) {
    const gb = 2 ** (i % 7);
    estimator.observe({
      tool: TOOL.key,
      toolLabel: TOOL.label,
      siteId: 'fast',
      inputBytes: gb * GB,
      cores: 1,
      runS: 10 * gb,
      at: NOW - 3600 + i,
    });
  }
  return estimator;
}

const withInput = (id: string, bytes: number) =>
  task({ id, inputs: [{ url: `https://data.example.org/${id}`, sizeBytes: bytes }] });

describe('LearnedEstimates', () => {
  it("gives each task the estimator's own per-site run time for its tool and input size, worked out once per size", () => {
    const estimator = learned();
    const sites = [site('fast'), site('new')];
    const estimates = new LearnedEstimates(estimator, NOW);
    estimates.applyToSites(sites);
    const asks = jest.spyOn(estimator, 'siteEstimate');

    const small = [withInput('s1', GB), withInput('s2', GB)];
    const large = withInput('l1', 64 * GB);
    for (const t of [...small, large]) estimates.applyToTask(t, TOOL, sites);
    // Two sizes over two sites, not three tasks over two sites.
    expect(asks).toHaveBeenCalledTimes(4);

    const direct = (bytes: number) => estimator.siteEstimate(TOOL.key, 'fast', bytes, NOW)?.medianS;
    expect(small[0].expectedRunSBySite).toEqual({ fast: direct(GB) });
    expect(small[1].expectedRunSBySite).toEqual({ fast: direct(GB) });
    expect(large.expectedRunSBySite).toEqual({ fast: direct(64 * GB) });
    expect(direct(64 * GB)).toBeGreaterThan(direct(GB) as number);
  });

  it('leaves a task whose tool has no runs at a site, or that names no tool, without per-site times', () => {
    const sites = [site('fast'), site('new')];
    const estimates = new LearnedEstimates(learned(), NOW);
    estimates.applyToSites(sites);
    const other = withInput('o', GB);
    estimates.applyToTask(other, { key: 'tool-b', label: 'tool B' }, sites);
    expect(other.expectedRunSBySite).toBeUndefined();
    const none = withInput('n', GB);
    estimates.applyToTask(none, undefined, sites);
    expect(none.expectedRunSBySite).toBeUndefined();
    expect(none.expectedRunS).toBeUndefined();
  });
});
