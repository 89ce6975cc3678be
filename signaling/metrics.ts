// Prometheus metrics (prom-client) on a registry of our own, so tests can build several servers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'mccs_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly socketConnections = new Gauge({
    name: 'mccs_socket_connections',
    help: 'Open socket.io connections by namespace',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly socketEvents = new Counter({
    name: 'mccs_socket_events_total',
    help: 'Socket events received by namespace, event and outcome',
    labelNames: ['namespace', 'event', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mccs_' });
  }
}
