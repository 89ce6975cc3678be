// Administration: accounts and queues. Admins only.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AccountView, CreateAccountBody, CreateQueueBody, QueueConfigView, UpdateQueueBody } from '../../protocol/http.js';
import type { QueueSettings } from '../../routing/queue-directory.js';
import { requireStaff } from './guards.js';
import { accountView } from './auth-routes.js';
import type { HttpDeps } from './app.js';

export function registerAdminRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const admin = requireStaff(deps.tokens, ['admin']);
  const security = [{ bearer: [] }];

  app.get(
    '/api/admin/accounts',
    { preHandler: admin, schema: { summary: 'All staff accounts', tags: ['admin'], security, response: { 200: Type.Array(AccountView) } } },
    async () => (await deps.accounts.list()).map(accountView),
  );

  app.post<{ Body: Static<typeof CreateAccountBody> }>(
    '/api/admin/accounts',
    { preHandler: admin, schema: { summary: 'Create an agent, supervisor or admin', tags: ['admin'], security, body: CreateAccountBody, response: { 201: AccountView } } },
    async (req, reply) => {
      const account = await deps.accounts.create(req.body);
      req.logger.info('account created', { accountId: account.id, role: account.role, by: req.staff!.accountId });
      return reply.status(201).send(accountView(account));
    },
  );

  app.get(
    '/api/admin/queues',
    { preHandler: admin, schema: { summary: 'All queues with their routing settings and waiting counts', tags: ['admin'], security, response: { 200: Type.Array(QueueConfigView) } } },
    async () => deps.queues.listConfigs(),
  );

  app.post<{ Body: Static<typeof CreateQueueBody> }>(
    '/api/admin/queues',
    {
      preHandler: admin,
      schema: { summary: 'Create a queue (a topic customers can choose) with its routing settings', tags: ['admin'], security, body: CreateQueueBody, response: { 201: QueueConfigView } },
    },
    async (req, reply) => reply.status(201).send(await deps.queues.create(req.body as Static<typeof CreateQueueBody> & Partial<QueueSettings>)),
  );

  app.patch<{ Params: { id: string }; Body: Static<typeof UpdateQueueBody> }>(
    '/api/admin/queues/:id',
    {
      preHandler: admin,
      schema: {
        summary: "Change a queue's routing settings (strategy, skills, relaxation, opening hours, limits, overflow)",
        tags: ['admin'],
        security,
        params: Type.Object({ id: Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' }) }),
        body: UpdateQueueBody,
        response: { 200: QueueConfigView },
      },
    },
    async (req) => {
      const updated = await deps.queues.update(req.params.id, req.body as Partial<QueueSettings>);
      req.logger.info('queue updated', { queueId: req.params.id, fields: Object.keys(req.body), by: req.staff!.accountId });
      return updated;
    },
  );
}
