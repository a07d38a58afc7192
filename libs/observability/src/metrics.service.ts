import cluster from 'node:cluster';
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { joinClusterMetrics } from './cluster-metrics';

/** The broker's own Prometheus registry (not the global one, so tests can build several apps). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly httpClientErrors: Counter<'reason' | 'status'>;

  constructor() {
    // Standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes...), so stock Node.js
    // dashboards and alerts work; the broker's own metrics carry the constellation_ prefix.
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'constellation_http_request_duration_seconds',
      help: 'HTTP request duration by method, matched route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.httpClientErrors = new Counter({
      name: 'constellation_http_client_errors_total',
      help: 'Requests Node or Fastify refused before a route saw them, or that the client cut off, by reason and the status answered ("none": nothing could be)',
      labelNames: ['reason', 'status'],
      registers: [this.registry],
    });
    if (cluster.isWorker) joinClusterMetrics(this.registry);
  }
}
