// Canned responses over HTTP (canned/, docs/agents.md): staff list the shared ones and their own and
// manage their own; admins manage the shared ones. Rate limited per signed-in caller (a whole office
// may share one address): reads like the public routes, writes tighter.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  CannedListQuery,
  PersonalCannedBody,
  PersonalCannedPatch,
  SharedCannedBody,
  SharedCannedPatch,
} from '../../protocol/canned.js';
import type { CannedResponses } from '../../canned/canned-responses.js';
import type { TokenService } from '../auth/tokens.js';
import { bearerToken, requireStaff, STAFF_ROLES } from './guards.js';

const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const CannedView = Type.Object({
  id: Type.String(),
  scope: Type.Union([Type.Literal('shared'), Type.Literal('personal')]),
  queueId: Type.Union([Type.String(), Type.Null()]),
  title: Type.String(),
  shortcut: Type.Union([Type.String(), Type.Null()]),
  body: Type.String(),
  updatedAt: Type.Number(),
});

/** Per caller: the limit runs before the token is checked, so the key is a hash of the token (never the token itself). */
function callerKey(req: FastifyRequest): string {
  const token = bearerToken(req.headers.authorization);
  return token ? `canned:${createHash('sha256').update(token).digest('base64url')}` : `canned:${req.ip}`;
}

/** Saving a phrase is a human act; 60 a minute leaves room for an import script and stops a loop. */
const WRITE_LIMIT = { max: 60, timeWindow: '1 minute', keyGenerator: callerKey };

export function registerCannedRoutes(app: FastifyInstance, deps: { tokens: TokenService; canned: CannedResponses; publicRateLimitPerMinute: number }): void {
  const { canned } = deps;
  const staff = requireStaff(deps.tokens, STAFF_ROLES);
  const admin = requireStaff(deps.tokens, ['admin']);
  const security = [{ bearer: [] }];
  const readLimit = { max: deps.publicRateLimitPerMinute, timeWindow: '1 minute', keyGenerator: callerKey };

  // ---- the agent's view: shared and own ----------------------------------------------------------

  app.get<{ Querystring: Static<typeof CannedListQuery> }>(
    '/api/agent/canned-responses',
    {
      preHandler: staff,
      config: { rateLimit: readLimit },
      schema: {
        summary: 'Canned responses I may insert: the shared ones (of a queue, if given) and my own',
        tags: ['agent'],
        security,
        querystring: CannedListQuery,
        response: { 200: Type.Array(CannedView) },
      },
    },
    async (req) => canned.listFor(req.staff!.accountId, req.query.queueId),
  );

  app.post<{ Body: Static<typeof PersonalCannedBody> }>(
    '/api/agent/canned-responses',
    {
      preHandler: staff,
      config: { rateLimit: WRITE_LIMIT },
      schema: { summary: 'Add one of my own canned responses', tags: ['agent'], security, body: PersonalCannedBody, response: { 201: CannedView } },
    },
    async (req, reply) => reply.status(201).send(await canned.createPersonal(req.staff!.accountId, req.body)),
  );

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PersonalCannedPatch> }>(
    '/api/agent/canned-responses/:id',
    {
      preHandler: staff,
      config: { rateLimit: WRITE_LIMIT },
      schema: { summary: 'Change one of my own canned responses', tags: ['agent'], security, params: IdParam, body: PersonalCannedPatch, response: { 200: CannedView } },
    },
    async (req) => canned.updatePersonal(req.staff!.accountId, req.params.id, req.body),
  );

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/agent/canned-responses/:id',
    { preHandler: staff, config: { rateLimit: WRITE_LIMIT }, schema: { summary: 'Delete one of my own canned responses', tags: ['agent'], security, params: IdParam } },
    async (req, reply) => {
      await canned.deletePersonal(req.staff!.accountId, req.params.id);
      return reply.status(204).send();
    },
  );

  // ---- admins: the shared ones -------------------------------------------------------------------

  app.get(
    '/api/admin/canned-responses',
    { preHandler: admin, schema: { summary: 'All shared canned responses', tags: ['admin'], security, response: { 200: Type.Array(CannedView) } } },
    async () => canned.listShared(),
  );

  app.post<{ Body: Static<typeof SharedCannedBody> }>(
    '/api/admin/canned-responses',
    {
      preHandler: admin,
      config: { rateLimit: WRITE_LIMIT },
      schema: { summary: 'Add a shared canned response (for every queue, or one)', tags: ['admin'], security, body: SharedCannedBody, response: { 201: CannedView } },
    },
    async (req, reply) => {
      const created = await canned.createShared(req.body);
      req.logger.info('shared canned response added', { id: created.id, queueId: created.queueId, by: req.staff!.accountId });
      return reply.status(201).send(created);
    },
  );

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof SharedCannedPatch> }>(
    '/api/admin/canned-responses/:id',
    {
      preHandler: admin,
      config: { rateLimit: WRITE_LIMIT },
      schema: { summary: 'Change a shared canned response', tags: ['admin'], security, params: IdParam, body: SharedCannedPatch, response: { 200: CannedView } },
    },
    async (req) => {
      const updated = await canned.updateShared(req.params.id, req.body);
      req.logger.info('shared canned response changed', { id: updated.id, fields: Object.keys(req.body), by: req.staff!.accountId });
      return updated;
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/admin/canned-responses/:id',
    { preHandler: admin, config: { rateLimit: WRITE_LIMIT }, schema: { summary: 'Delete a shared canned response', tags: ['admin'], security, params: IdParam } },
    async (req, reply) => {
      await canned.deleteShared(req.params.id);
      req.logger.info('shared canned response deleted', { id: req.params.id, by: req.staff!.accountId });
      return reply.status(204).send();
    },
  );
}
