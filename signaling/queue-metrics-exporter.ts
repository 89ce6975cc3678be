// Queue figures as Prometheus gauges, computed when scraped (no timers, no stale series: each scrape
// resets and re-sets them). Interval figures cover the current interval (15 min by default); a figure
// with nothing to measure (null) is left out rather than reported as 0.
import { Gauge, type Registry } from 'prom-client';
import type { QueueMetricsSnapshot, QueueMetricsView } from '../protocol/http.js';

type Figure = [name: string, help: string, pick: (q: QueueMetricsView) => number | null];

const FIGURES: Figure[] = [
  ['mccs_queue_waiting', 'Contacts waiting in the queue now', (q) => q.live.waiting],
  ['mccs_queue_longest_wait_seconds', 'How long the oldest waiting contact has waited', (q) => q.live.longestWaitMs / 1000],
  ['mccs_queue_service_level_ratio', 'Contacts that left the queue within the threshold ÷ all that left, current interval', (q) => q.interval.serviceLevel],
  ['mccs_queue_asa_seconds', 'Average speed of answer, current interval', (q) => seconds(q.interval.asaMs)],
  ['mccs_queue_aht_seconds', 'Average handle time (talk + wrap-up), current interval', (q) => seconds(q.interval.ahtMs)],
  ['mccs_queue_abandon_ratio', 'Abandoned ÷ all that left the queue, current interval', (q) => q.interval.abandonRate],
  ['mccs_queue_occupancy_ratio', 'Busy ÷ (busy + available) time of the agents serving the queue, current interval', (q) => q.interval.occupancy],
  ['mccs_queue_answer_ratio', 'Offers accepted ÷ (accepted + missed), current interval', (q) => q.interval.answerRate],
];

function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}

/** Registers the queue gauges on `registry`; `source` is read once per scrape. */
export function exportQueueMetrics(registry: Registry, source: { snapshotAll(): QueueMetricsSnapshot }): void {
  // One scrape collects every gauge in turn: they share a snapshot taken moments apart at most.
  let cached: { at: number; snapshot: QueueMetricsSnapshot } | null = null;
  const snapshot = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 500) cached = { at: now, snapshot: source.snapshotAll() };
    return cached.snapshot;
  };
  for (const [name, help, pick] of FIGURES) {
    new Gauge({
      name,
      help,
      labelNames: ['queue'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const q of snapshot().queues) {
          const v = pick(q);
          if (v !== null) this.set({ queue: q.queueId }, v);
        }
      },
    });
  }
}
