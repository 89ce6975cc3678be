// Supervisors and admins look at waiting tasks and change their priority.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { requireStaff } from './guards.js';
import type { ChatService } from '../../chat/chat-service.js';
import type { TokenService } from '../auth/tokens.js';

const TaskId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const PriorityBody = Type.Object({ priority: Type.Integer({ minimum: -100, maximum: 100 }) }, { additionalProperties: false });
const WaitingTask = Type.Object({ taskId: Type.String(), position: Type.Integer(), priority: Type.Integer(), enqueuedAt: Type.Integer(), channel: Type.String() });

export function registerTaskRoutes(app: FastifyInstance, deps: { tokens: TokenService; chat: ChatService }): void {
  const supervisor = requireStaff(deps.tokens, ['supervisor', 'admin']);
  const security = [{ bearer: [] }];

  app.get<{ Params: { queueId: string } }>(
    '/api/queues/:queueId/waiting',
    {
      preHandler: supervisor,
      schema: {
        summary: 'Tasks waiting in a queue, in the order they will be served',
        tags: ['supervisor'],
        security,
        params: Type.Object({ queueId: Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' }) }),
        response: { 200: Type.Array(WaitingTask) },
      },
    },
    async (req) => deps.chat.waitingTasks(req.params.queueId),
  );

  app.patch<{ Params: { taskId: string }; Body: Static<typeof PriorityBody> }>(
    '/api/tasks/:taskId/priority',
    {
      preHandler: supervisor,
      schema: {
        summary: "Change a waiting task's priority (higher is served first); its place changes at once",
        tags: ['supervisor'],
        security,
        params: Type.Object({ taskId: TaskId }),
        body: PriorityBody,
        response: { 200: Type.Object({ taskId: Type.String(), priority: Type.Integer(), position: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (req) => deps.chat.setPriority(req.params.taskId, req.body.priority),
  );
}
