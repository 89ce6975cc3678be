// Customer context over HTTP: the customer of a task for the staff who may see them, notes, tags and
// the flag, and the data rights: export (admins, and customers their own), erasure, merge, the access log.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError } from '../../lib/errors.js';
import { EmailCodeBody, EmailVerifyBody, MergeBody, NoteBody, TagsBody, type EmailVerifiedReply } from '../../protocol/context.js';
import type { CustomerContext, Viewer } from '../../context/customer-context.js';
import type { EmailVerifications } from '../../context/email-verification.js';
import type { TokenService } from '../auth/tokens.js';
import { bearerToken, requireStaff, STAFF_ROLES } from './guards.js';

const TaskParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const CustomerParam = TaskParam;

export function registerContextRoutes(
  app: FastifyInstance,
  deps: { tokens: TokenService; context: CustomerContext; emails?: EmailVerifications; publicRateLimitPerMinute: number },
): void {
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

  /** The customer whose visitor token this is: every /api/me route acts on that profile only. */
  const visitor = async (req: { headers: { authorization?: string } }): Promise<string> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'missing bearer token');
    const principal = await tokens.verify(token);
    if (principal.kind !== 'visitor') throw new DomainError('FORBIDDEN', 'visitors only');
    return principal.customerId;
  };
  const publicLimit = { rateLimit: { max: deps.publicRateLimitPerMinute, timeWindow: '1 minute' } };

  app.get('/api/me/export', { config: publicLimit, schema: { summary: 'Everything stored about me (visitor token)', tags: ['public'], security } }, async (req) => {
    const me = await visitor(req);
    return context.export(me, { id: me, role: 'customer' });
  });

  app.get('/api/me/conversations', { config: publicLimit, schema: { summary: 'My conversations, newest first (visitor token)', tags: ['public'], security } }, async (req) =>
    context.ownHistory(await visitor(req)),
  );

  const emails = deps.emails;
  if (emails) {
    app.post<{ Body: Static<typeof EmailCodeBody> }>(
      '/api/me/email',
      { config: publicLimit, schema: { summary: 'Mail a one-time code to confirm my email (visitor token); it links nothing until confirmed', tags: ['public'], security, body: EmailCodeBody } },
      async (req, reply) => reply.status(202).send(await emails.request(await visitor(req), req.body.email)),
    );

    app.post<{ Body: Static<typeof EmailVerifyBody> }>(
      '/api/me/email/verify',
      {
        config: publicLimit,
        schema: { summary: 'Confirm my email with its code: it becomes an identity of my profile, merged with an older profile that has it', tags: ['public'], security, body: EmailVerifyBody },
      },
      async (req): Promise<EmailVerifiedReply> => {
        const me = await visitor(req);
        const verified = await emails.verify(me, req.body.email, req.body.code);
        // Merged into an older profile: the visitor continues as that one.
        const visitorToken = verified.customerId === me ? null : { ...(await tokens.issueVisitor(verified.customerId)), customerId: verified.customerId };
        return { ...verified, visitor: visitorToken };
      },
    );
  }

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
