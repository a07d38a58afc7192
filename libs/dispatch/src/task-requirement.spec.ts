import type { TaskDocument } from '@constellation/tes';
import { pulsarTesTask } from '../../../test/support/pulsar-tes-task';
import {
  DEFAULT_INPUT_BYTES,
  rerunOnSiteLoss,
  storeFor,
  StorePrefixes,
  taskRequirement,
  withHomeStore,
} from './task-requirement';

const stores: StorePrefixes[] = [
  { id: 'eu', country: 'DE', latitude: 48, longitude: 7.8, urlPrefixes: ['https://usegalaxy.eu/'] },
  {
    id: 'eu-jobs',
    country: 'DE',
    latitude: 48,
    longitude: 7.8,
    urlPrefixes: ['https://usegalaxy.eu/api/jobs/'],
  },
  { id: 's3', country: 'IT', latitude: null, longitude: null, urlPrefixes: ['s3://bucket/'] },
];

const doc = (over: Partial<TaskDocument> = {}): TaskDocument => ({
  inputs: [],
  outputs: [],
  executors: [{ image: 'alpine', command: ['true'] }],
  volumes: [],
  tags: {},
  ...over,
});

describe('taskRequirement', () => {
  it('matches the longest store prefix and ignores URLs no store holds', () => {
    expect(storeFor('https://usegalaxy.eu/api/jobs/1/files?path=x', stores)).toBe('eu-jobs');
    expect(storeFor('https://usegalaxy.eu/datasets/1', stores)).toBe('eu');
    expect(storeFor('https://example.org/x', stores)).toBeUndefined();
  });

  it('maps resources and constellation.* parameters, and leaves inline content out of placement', () => {
    const r = taskRequirement(
      {
        id: 't1',
        excludedSiteIds: ['s-bad'],
        queuedAt: new Date(1_000_000),
        document: doc({
          inputs: [
            { path: '/in/a', type: 'FILE', url: 's3://bucket/a' },
            { path: '/in/b', type: 'FILE', content: 'hello' },
          ],
          outputs: [{ path: '/out/c', type: 'FILE', url: 'https://usegalaxy.eu/api/jobs/1/files?path=c' }],
          resources: {
            cpu_cores: 4,
            ram_gb: 16,
            disk_gb: 100,
            zones: ['DE'],
            backend_parameters: {
              'constellation.site': 'freiburg',
              'constellation.gpus': '2',
              'constellation.gpu_type': 'A100',
            },
          },
        }),
      },
      stores,
    );
    expect(r).toEqual({
      id: 't1',
      cpuCores: 4,
      ramGb: 16,
      diskGb: 100,
      zones: ['DE'],
      pinnedSite: 'freiburg',
      gpus: 2,
      gpuType: 'A100',
      inputs: [{ url: 's3://bucket/a', sizeBytes: DEFAULT_INPUT_BYTES, dataStoreId: 's3' }],
      outputUrls: ['https://usegalaxy.eu/api/jobs/1/files?path=c'],
      excludedSiteIds: ['s-bad'],
      queuedAt: 1000,
    });
  });

  it('reruns on site loss unless the parameter says false', () => {
    expect(rerunOnSiteLoss(doc())).toBe(true);
    const off = doc({ resources: { backend_parameters: { 'constellation.rerun_on_site_loss': 'FALSE' } } });
    expect(rerunOnSiteLoss(off)).toBe(false);
  });

  it('reads a parameter stored as another type without throwing (rows written outside the broker)', () => {
    const as = (value: unknown) =>
      doc({ resources: { backend_parameters: { 'constellation.rerun_on_site_loss': value as string } } });
    expect(rerunOnSiteLoss(as(false))).toBe(false);
    expect(rerunOnSiteLoss(as(0))).toBe(true);
    expect(rerunOnSiteLoss(as(null))).toBe(true);
  });

  it('gives a Galaxy Pulsar task the inputs its job message names, without the job key, for locality only', () => {
    const galaxy = pulsarTesTask({
      jobId: '4711',
      galaxyUrl: 'https://usegalaxy.eu',
      jobKey: 'secret-job-key',
      toolContainer: 'quay.io/biocontainers/bwa-mem2:2.2.1--hd03093a_2',
      inputs: [
        { name: 'r1.fastq', galaxyPath: '/data/1.dat' },
        { name: 'ref.fa', galaxyPath: '/data/2.dat' },
      ],
      outputs: ['/data/3.dat'],
      commandLine: 'bwa-mem2 mem ref.fa r1.fastq',
    });
    const r = taskRequirement(
      {
        id: 't',
        document: doc({ executors: galaxy.document.executors as TaskDocument['executors'] }),
        excludedSiteIds: [],
        queuedAt: new Date(0),
      },
      stores,
    );
    expect(r.inputs).toEqual([
      {
        url: 'https://usegalaxy.eu/api/jobs/4711/files',
        sizeBytes: DEFAULT_INPUT_BYTES,
        dataStoreId: 'eu-jobs',
        stagedByTask: true,
      },
      {
        url: 'https://usegalaxy.eu/api/jobs/4711/files',
        sizeBytes: DEFAULT_INPUT_BYTES,
        dataStoreId: 'eu-jobs',
        stagedByTask: true,
      },
    ]);
    expect(JSON.stringify(r)).not.toContain('secret-job-key');
  });

  it.each<[string, Partial<TaskDocument>, (string | undefined)[], number]>([
    [
      'an input no store holds reads from the home store',
      { inputs: [{ url: 'https://example.org/x', type: 'FILE', path: '/x' }] },
      ['eu'],
      1,
    ],
    [
      'an input a store holds keeps its store',
      { inputs: [{ url: 's3://bucket/a', type: 'FILE', path: '/a' }] },
      ['s3'],
      1,
    ],
    ['a task with no input URL reads the default size from the home store', {}, ['eu'], 1],
  ])('withHomeStore: %s', (_name, over, storeIds, count) => {
    const r = taskRequirement(
      { id: 't', document: doc(over), excludedSiteIds: [], queuedAt: new Date(0) },
      stores,
    );
    withHomeStore(r, stores[0]);
    expect(r.inputs.map((i) => i.dataStoreId)).toEqual(storeIds);
    expect(r.inputs).toHaveLength(count);
    expect(r.inputs.every((i) => i.sizeBytes === DEFAULT_INPUT_BYTES)).toBe(true);
  });

  it('withHomeStore without a home store changes nothing', () => {
    const r = taskRequirement(
      { id: 't', document: doc(), excludedSiteIds: [], queuedAt: new Date(0) },
      stores,
    );
    withHomeStore(r, undefined);
    expect(r.inputs).toEqual([]);
  });
});
