import cluster, { Worker } from 'node:cluster';
import { AggregatorRegistry, MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/**
 * /metrics with several workers (CONSTELLATION_WORKERS): a scrape lands on any one worker, so that worker
 * asks the primary, which gathers the registry of every running worker and answers with the aggregate
 * (prom-client's AggregatorRegistry.aggregate: counters and histograms summed, each metric's `aggregator`
 * otherwise). Without it each scrape would show one worker's counters, and they would jump between scrapes.
 * The primary asks only workers that are listening: one still starting has no registry to offer yet.
 */

const SCRAPE = 'constellation:metrics-scrape';
const SCRAPED = 'constellation:metrics-scraped';
const GATHER = 'constellation:metrics-gather';
const GATHERED = 'constellation:metrics-gathered';
const TIMEOUT_MS = 5_000;

type RegistryJson = MetricObjectWithValues<MetricValue<string>>[];

interface Message {
  type: string;
  id: number;
  text?: string;
  metrics?: RegistryJson;
  error?: string;
}

function asMessage(m: unknown, type: string): Message | undefined {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type
    ? (m as Message)
    : undefined;
}

/** Sends without throwing: a worker may die between being chosen and being written to. */
function sendQuietly(worker: Worker, message: Message): boolean {
  if (!worker.isConnected()) return false;
  worker.send(message, undefined, () => undefined);
  return true;
}

/** Primary: answers workers' scrapes with the metrics of all `running()` workers. Call once, before forking. */
export function serveClusterMetrics(running: () => Worker[]): void {
  let nextId = 0;
  const pending = new Map<
    number,
    { results: RegistryJson[]; waiting: number; done: (err?: Error) => void }
  >();

  const gather = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const results: RegistryJson[] = [];
      const timer = setTimeout(
        () => done(new Error(`a worker did not answer within ${TIMEOUT_MS / 1000} s`)),
        TIMEOUT_MS,
      );
      const done = (err?: Error) => {
        if (!pending.delete(id)) return;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(AggregatorRegistry.aggregate(results).metrics());
      };
      const asked = running().filter((w) => sendQuietly(w, { type: GATHER, id }));
      pending.set(id, { results, waiting: asked.length, done });
      if (asked.length === 0) done();
    });

  cluster.on('message', (worker, raw: unknown) => {
    const gathered = asMessage(raw, GATHERED);
    if (gathered) {
      const request = pending.get(gathered.id);
      if (!request) return;
      if (gathered.error !== undefined) return request.done(new Error(gathered.error));
      request.results.push(gathered.metrics ?? []);
      if (--request.waiting === 0) request.done();
      return;
    }
    const scrape = asMessage(raw, SCRAPE);
    if (!scrape) return;
    gather().then(
      (text) => sendQuietly(worker, { type: SCRAPED, id: scrape.id, text }),
      (err: Error) => sendQuietly(worker, { type: SCRAPED, id: scrape.id, error: err.message }),
    );
  });
}

/** Worker: offers `registry` to the primary's gathering. */
export function joinClusterMetrics(registry: Registry): void {
  process.on('message', (raw: unknown) => {
    const request = asMessage(raw, GATHER);
    if (!request) return;
    registry.getMetricsAsJSON().then(
      (metrics) =>
        process.send?.({ type: GATHERED, id: request.id, metrics }, undefined, {}, () => undefined),
      (err: Error) =>
        process.send?.(
          { type: GATHERED, id: request.id, error: err.message },
          undefined,
          {},
          () => undefined,
        ),
    );
  });
}

let nextScrape = 0;
let inFlight: Promise<string> | undefined;

/** Worker: the whole cluster's metrics, in the Prometheus text format; concurrent scrapes share one. */
export function clusterMetricsText(): Promise<string> {
  inFlight ??= new Promise<string>((resolve, reject) => {
    const id = nextScrape++;
    const onMessage = (raw: unknown) => {
      const answer = asMessage(raw, SCRAPED);
      if (!answer || answer.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (answer.text !== undefined) resolve(answer.text);
      else
        reject(
          new Error(`the primary could not gather the workers' metrics: ${answer.error ?? 'no answer'}`),
        );
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary did not send the workers' metrics within ${(TIMEOUT_MS * 2) / 1000} s`));
    }, TIMEOUT_MS * 2);
    process.on('message', onMessage);
    process.send?.({ type: SCRAPE, id });
  }).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}
