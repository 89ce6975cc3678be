// Customer context over HTTP: the customer of a task for the staff who may see them, notes, tags and
// the flag, and the data rights: export (admins, and customers their own), erasure, merge, the access log.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError } from '../../lib/errors.js';
import { MergeBody, NoteBody, TagsBody } from '../../protocol/context.js';
import type { CustomerContext, Viewer } from '../../context/customer-context.js';
import type { TokenService } from '../auth/tokens.js';
import { bearerToken, requireStaff, STAFF_ROLES } from './guards.js';

const TaskParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const CustomerParam = TaskParam;

export function registerContextRoutes(app: FastifyInstance, deps: { tokens: TokenService; context: CustomerContext; publicRateLimitPerMinute: number }): void {
  const { context, tokens } = deps;
  const staff = requireStaff(tokens, STAFF_ROLES);
  const supervisor = requireStaff(tokens, ['supervisor', 'admin']);
  const admin = requireStaff(tokens, ['admin']);
  const security = [{ bearer: [] }];
  const viewer = (req: { staff?: { accountId: string; role: Viewer['role'] } }): Viewer => ({ id: req.staff!.accountId, role: req.staff!.role });

  app.get<{ Params: Static<typeof TaskParam> }>(
    '/api/tasks/:id/context',
    { preHandler: staff, schema: { summary: "The customer of a conversation: identities, earlier sessions, notes (as the queue allows; every look is logged)", tags: ['context'], security, params: TaskParam } },
    async (req) => context.view(viewer(req), req.params.id),
  );

  app.post<{ Params: Static<typeof TaskParam>; Body: Static<typeof NoteBody> }>(
    '/api/tasks/:id/notes',
    { preHandler: staff, schema: { summary: "A note on the conversation's customer", tags: ['context'], security, params: TaskParam, body: NoteBody } },
    async (req, reply) => reply.status(201).send(await context.addNote(viewer(req), req.params.id, req.body.body)),
  );

  app.put<{ Params: Static<typeof CustomerParam>; Body: Static<typeof TagsBody> }>(
    '/api/customers/:id/tags',
    { preHandler: supervisor, schema: { summary: 'Tags and the flag (flagged customers are served first)', tags: ['context'], security, params: CustomerParam, body: TagsBody } },
    async (req) => context.setTags(viewer(req), req.params.id, req.body),
  );

  app.get<{ Params: Static<typeof CustomerParam> }>(
    '/api/admin/customers/:id/export',
    { preHandler: admin, schema: { summary: "Everything stored about a customer, as JSON (the customer's right of access)", tags: ['admin'], security, params: CustomerParam } },
    async (req) => context.export(req.params.id, viewer(req)),
  );

  app.get(
    '/api/me/export',
    { config: { rateLimit: { max: deps.publicRateLimitPerMinute, timeWindow: '1 minute' } }, schema: { summary: 'Everything stored about me (visitor token)', tags: ['public'], security } },
    async (req) => {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new DomainError('UNAUTHENTICATED', 'missing bearer token');
      const principal = await tokens.verify(token);
      if (principal.kind !== 'visitor') throw new DomainError('FORBIDDEN', 'visitors only');
      return context.export(principal.customerId, { id: principal.customerId, role: 'customer' });
    },
  );

  app.delete<{ Params: Static<typeof CustomerParam> }>(
    '/api/admin/customers/:id',
    { preHandler: admin, schema: { summary: "Erase a customer's personal data (financial records stay under a pseudonymous id)", tags: ['admin'], security, params: CustomerParam } },
    async (req) => context.erase(req.params.id, viewer(req)),
  );

  app.post<{ Params: Static<typeof CustomerParam>; Body: Static<typeof MergeBody> }>(
    '/api/admin/customers/:id/merge',
    { preHandler: admin, schema: { summary: 'Merge another profile of the same person into this one (audited)', tags: ['admin'], security, params: CustomerParam, body: MergeBody } },
    async (req) => context.merge(req.params.id, req.body.fromCustomerId, viewer(req)),
  );

  app.get<{ Params: Static<typeof CustomerParam> }>(
    '/api/admin/customers/:id/access-log',
    { preHandler: admin, schema: { summary: "Who looked at or changed this customer's data", tags: ['admin'], security, params: CustomerParam } },
    async (req) => context.accessLog(req.params.id),
  );
}
