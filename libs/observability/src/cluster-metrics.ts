import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';

/**
 * /metrics with several workers (CONSTELLATION_WORKERS): a scrape lands on any one worker, so that worker
 * asks the primary, which gathers every worker's registry (prom-client's AggregatorRegistry, over the
 * cluster's IPC channel) and answers with the sum. Without it each scrape would show one worker's counters,
 * and they would jump between scrapes.
 */

const REQUEST = 'constellation:cluster-metrics-request';
const RESPONSE = 'constellation:cluster-metrics-response';
const TIMEOUT_MS = 10_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/** Primary: answers workers' requests for the cluster's metrics. Call once, before forking. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: message.id, text } satisfies MetricsResponse),
      (err: Error) =>
        worker.send({ type: RESPONSE, id: message.id, error: err.message } satisfies MetricsResponse),
    );
  });
}

/** Worker: offers `registry` to the primary's aggregation. */
export function joinClusterMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener that answers the primary from this worker's registry.
  new AggregatorRegistry();
}

let nextId = 0;

/** Worker: the whole cluster's metrics, in the Prometheus text format. */
export function clusterMetricsText(): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isMessage<MetricsResponse>(message, RESPONSE) || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.text !== undefined) resolve(message.text);
      else
        reject(
          new Error(`the primary could not gather the workers' metrics: ${message.error ?? 'no answer'}`),
        );
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary did not send the workers' metrics within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    process.on('message', onMessage);
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
