import type { DataStoreServer } from './data-store-server';
import { untilFinished, untilState } from './dispatch-suite';
import type { tes } from './tes-client';

/**
 * What the Pulsar dispatch suites (REST and AMQP) ask of their site alike; each suite then checks what its
 * transport did on the wire.
 */

type TesClient = ReturnType<typeof tes>;

/** The settings of the Pulsar suites: rounds every 50 ms, probes every second, leases long enough for staging. */
export const PULSAR_DISPATCH: Record<string, string> = {
  CONSTELLATION_DISPATCH_SECONDS: '0.05',
  CONSTELLATION_TRACK_SECONDS: '0.05',
  CONSTELLATION_PROBE_SECONDS: '1',
  CONSTELLATION_LEASE_SECONDS: '10',
};

/** The files the data store serves to the count task. */
export const COUNT_INPUTS = { '/data/genome.fa': '>chr1\nACGT\n' };

/**
 * Runs a task that reads an HTTP input and an inline one and writes one output back to the data store, and
 * checks that it completed with its logs and its output delivered. Its id and FULL view.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runCountTask(client: TesClient, store: DataStoreServer, slug: string): Promise<any> {
  const { body } = await client
    .create({
      name: 'count',
      inputs: [
        { url: `${store.url}/data/genome.fa`, path: '/data/genome.fa', type: 'FILE' },
        { content: 'inline config\n', path: '/data/config.txt' },
      ],
      outputs: [{ path: '/out/result.txt', url: `${store.url}/results/result.txt`, type: 'FILE' }],
      executors: [
        { image: 'alpine', command: ['cat', '/data/genome.fa', '/data/config.txt'] },
        { image: 'alpine', command: ['sh', '-c', 'echo counted > /out/result.txt'] },
      ],
      resources: { zones: [slug] },
    })
    .expect(200);
  // A fetch, a job, an upload and a delivery: over AMQP on a loaded 2-core machine this took 7.7 s of the
  // default 20 s (2.6x margin). 40 s leaves room under the suites' 60 s test timeout.
  const task = await untilFinished(client, body.id, 'the task to finish', 40_000);
  expect(task.state).toBe('COMPLETE');
  expect(task.logs).toHaveLength(1);
  expect(task.logs[0].logs).toEqual([
    expect.objectContaining({ exit_code: 0, stdout: '>chr1\nACGT\ninline config\n' }),
    expect.objectContaining({ exit_code: 0 }),
  ]);
  expect(task.logs[0].outputs).toEqual([
    { url: `${store.url}/results/result.txt`, path: '/out/result.txt', size_bytes: '8' },
  ]);
  expect(store.received.get('/results/result.txt')).toBe('counted\n');
  // The job id derives from task and attempt, so a resend finds the same job.
  expect(task.logs[0].metadata.remote_id).toBe(`${body.id}-1`);
  return task;
}

/** Runs a task whose executor exits with 3 and checks it ends EXECUTOR_ERROR with that exit code. */
export async function runFailingExecutor(client: TesClient, slug: string): Promise<void> {
  const { body } = await client
    .create({
      executors: [{ image: 'alpine', command: ['sh', '-c', 'exit 3'] }],
      resources: { zones: [slug] },
    })
    .expect(200);
  const task = await untilFinished(client, body.id, 'the task to finish');
  expect(task.state).toBe('EXECUTOR_ERROR');
  expect(task.logs[0].logs[0].exit_code).toBe(3);
}

/**
 * Holds the site's jobs running, starts a long task there, cancels it once it runs and waits until it is
 * CANCELED; then `check(id)` looks at what the site saw, before the site lets its jobs go again.
 */
export async function cancelRunningTask(
  client: TesClient,
  slug: string,
  site: { hold(): void; release(): void },
  check: (id: string) => Promise<void>,
): Promise<void> {
  site.hold();
  try {
    const { body } = await client
      .create({ executors: [{ image: 'alpine', command: ['sleep', '600'] }], resources: { zones: [slug] } })
      .expect(200);
    await untilState(client, body.id, 'RUNNING', 'the job to run');
    await client.cancel(body.id).expect(200);
    await untilState(client, body.id, 'CANCELED', 'CANCELED');
    await check(body.id as string);
  } finally {
    site.release();
  }
}
