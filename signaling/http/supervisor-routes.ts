// Queue metrics for supervisors and admins: every queue now, or one queue over a chosen interval.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError, NotFoundError } from '../../lib/errors.js';
import { QueueMetricsQuery, QueueMetricsSnapshot, QueueMetricsView, WaitingHistoryView } from '../../protocol/http.js';
import type { QueueMonitor } from '../../routing/queue-monitor.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

export function registerSupervisorRoutes(app: FastifyInstance, deps: { tokens: TokenService; queueMonitor: QueueMonitor }): void {
  const supervisor = requireStaff(deps.tokens, ['supervisor', 'admin']);
  const security = [{ bearer: [] }];
  const monitor = deps.queueMonitor;

  app.get(
    '/api/supervisor/queues/metrics',
    {
      preHandler: supervisor,
      schema: {
        summary: 'Every queue: live figures and the current interval (docs/routing.md, "Metrics")',
        tags: ['supervisor'],
        security,
        response: { 200: QueueMetricsSnapshot },
      },
    },
    async () => monitor.snapshotAll(),
  );

  app.get(
    '/api/supervisor/queues/waiting-history',
    {
      preHandler: supervisor,
      schema: {
        summary: 'Contacts waiting over the last half hour per queue (peaks per bucket), for a wallboard that just opened',
        tags: ['supervisor'],
        security,
        response: { 200: WaitingHistoryView },
      },
    },
    async () => monitor.waitingHistory(),
  );

  app.get<{ Params: { id: string }; Querystring: Static<typeof QueueMetricsQuery> }>(
    '/api/supervisor/queues/:id/metrics',
    {
      preHandler: supervisor,
      schema: {
        summary: 'One queue: live figures and an interval (from/to epoch ms, widened to whole intervals; default the current one)',
        tags: ['supervisor'],
        security,
        params: Type.Object({ id: Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' }) }),
        querystring: QueueMetricsQuery,
        response: { 200: QueueMetricsView },
      },
    },
    async (req) => {
      const now = Date.now();
      const from = req.query.from ?? now;
      const to = req.query.to ?? Math.max(now, from) + 1;
      if (from > now) throw new DomainError('VALIDATION', 'from is in the future');
      if (to <= from) throw new DomainError('VALIDATION', 'to must be after from');
      if (to - from > monitor.retentionMs) {
        throw new DomainError('VALIDATION', `the interval may span at most ${monitor.retentionMs / 3_600_000} h (the retention window)`);
      }
      // A queue created moments ago may not be listed yet.
      if (!monitor.hasQueue(req.params.id)) await monitor.syncQueues();
      const view = monitor.snapshot(req.params.id, from, to);
      if (!view) throw new NotFoundError(`queue ${req.params.id}`);
      return view;
    },
  );
}
