// Liveness, readiness and Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import { ReadinessReply } from '../../protocol/http.js';
import type { Metrics } from '../metrics.js';

/** One dependency /readyz reports. A required one that is not 'up' makes the server not ready. */
export interface ReadinessCheck {
  name: string;
  required: boolean;
  check: () => Promise<{ state: string; detail?: string }>;
}

const CHECK_TIMEOUT_MS = 3000;

async function runCheck(c: ReadinessCheck) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ state: string; detail: string }>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'down', detail: `no answer in ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([c.check(), timeout]);
  } catch (err) {
    return { state: 'down', detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(app: FastifyInstance, deps: { metrics: Metrics; readiness: ReadinessCheck[] }): void {
  app.get(
    '/healthz',
    { schema: { summary: 'The process is alive', tags: ['health'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    { schema: { summary: 'Each dependency and its state', tags: ['health'], response: { 200: ReadinessReply, 503: ReadinessReply } } },
    async (_req, reply) => {
      const results = await Promise.all(deps.readiness.map(async (c) => [c, await runCheck(c)] as const));
      const checks = Object.fromEntries(results.map(([c, r]) => [c.name, { ...r, required: c.required }]));
      const requiredDown = results.some(([c, r]) => c.required && r.state !== 'up');
      const optionalDown = results.some(([c, r]) => !c.required && r.state !== 'up');
      const status = requiredDown ? 'not_ready' : optionalDown ? 'degraded' : 'ready';
      return reply.status(requiredDown ? 503 : 200).send({ status, checks });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['health'] } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
}
