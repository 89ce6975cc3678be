// Routes the customer widget calls without an account: rate-limited per client address.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { QueueView, VisitorTokenBody, VisitorTokenReply } from '../../protocol/http.js';
import { preferredLanguage } from '../../chat/customer-directory.js';
import type { HttpDeps } from './app.js';

export function registerPublicRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const rateLimit = { max: deps.config.http.publicRateLimitPerMinute, timeWindow: '1 minute' };

  app.post<{ Body: Static<typeof VisitorTokenBody> }>(
    '/api/visitor-token',
    {
      config: { rateLimit },
      schema: { summary: 'An anonymous visitor token for the customer widget', tags: ['public'], body: VisitorTokenBody, response: { 200: VisitorTokenReply } },
    },
    async (req) => {
      // The browser's preferred language goes to the agent with the customer's tasks (docs/context.md).
      const customer = await deps.customers.createVisitor(req.body?.displayName, preferredLanguage(req.headers['accept-language']));
      const { token, expiresAt } = await deps.tokens.issueVisitor(customer.id);
      return { token, customerId: customer.id, expiresAt };
    },
  );

  app.get(
    '/api/queues',
    { config: { rateLimit }, schema: { summary: 'Topics a customer can choose', tags: ['public'], response: { 200: Type.Array(QueueView) } } },
    async () => deps.queues.list(),
  );
}
