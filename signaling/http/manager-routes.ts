// The Managers' API (service tokens, protocol/manager.ts) and its administration: service tokens,
// the sources and policies Managers run, and the state each source is in.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError } from '../../lib/errors.js';
import { ManagerConfigReply, OutcomesQuery, OutcomesReply, PolicyConfig, SocialPostSubmission, SourceConfig, SourceStatusBody, SubmitPostReply } from '../../protocol/manager.js';
import type { ServiceTokenService, ServiceTokenView } from '../../social/service-tokens.js';
import type { SocialService } from '../../social/social-service.js';
import type { TokenService } from '../auth/tokens.js';
import { bearerToken, requireStaff } from './guards.js';

declare module 'fastify' {
  interface FastifyRequest {
    service?: ServiceTokenView;
  }
}

export interface ManagerRouteDeps {
  tokens: TokenService;
  serviceTokens: ServiceTokenService;
  social: SocialService;
}

const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) });
const CreateTokenBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
// Admins may leave a secret out to keep the stored one (the list never shows secrets).
const SaveSourceBody = SourceConfig;

export function registerManagerRoutes(app: FastifyInstance, deps: ManagerRouteDeps): void {
  const { social, serviceTokens } = deps;
  const security = [{ bearer: [] }];
  const service = async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'missing bearer token');
    const found = await serviceTokens.verify(token);
    if (!found) throw new DomainError('UNAUTHENTICATED', 'not a valid service token');
    req.service = found;
  };
  const admin = requireStaff(deps.tokens, ['admin']);

  // ---- Managers -------------------------------------------------------------------------------

  app.get(
    '/api/service/manager/config',
    { preHandler: service, schema: { summary: 'Sources and policies a Manager runs', tags: ['service'], security, response: { 200: ManagerConfigReply } } },
    async () => social.managerConfig(),
  );

  app.post<{ Body: Static<typeof SocialPostSubmission> }>(
    '/api/service/manager/posts',
    { preHandler: service, schema: { summary: 'A post that matched a policy: queued as a social task (once per source and id)', tags: ['service'], security, body: SocialPostSubmission, response: { 200: SubmitPostReply, 201: SubmitPostReply } } },
    async (req, reply) => {
      const result = await social.submit(req.body);
      return reply.status(result.duplicate ? 200 : 201).send(result.duplicate ? result : { taskId: result.taskId });
    },
  );

  app.put<{ Params: Static<typeof IdParam>; Body: Static<typeof SourceStatusBody> }>(
    '/api/service/manager/sources/:id/status',
    { preHandler: service, schema: { summary: "A source's state as the Manager sees it", tags: ['service'], security, params: IdParam, body: SourceStatusBody } },
    async (req, reply) => {
      await social.reportStatus(req.params.id, req.body);
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: Static<typeof OutcomesQuery> }>(
    '/api/service/manager/outcomes',
    { preHandler: service, schema: { summary: 'How agents handled posts, after a cursor', tags: ['service'], security, querystring: OutcomesQuery, response: { 200: OutcomesReply } } },
    async (req) => social.outcomes(req.query.after),
  );

  // ---- admins ---------------------------------------------------------------------------------

  app.get('/api/admin/service-tokens', { preHandler: admin, schema: { summary: 'Service tokens (never the tokens themselves)', tags: ['admin'], security } }, async () =>
    serviceTokens.list(),
  );

  app.post<{ Body: Static<typeof CreateTokenBody> }>(
    '/api/admin/service-tokens',
    { preHandler: admin, schema: { summary: 'A new service token for a Manager; shown once', tags: ['admin'], security, body: CreateTokenBody } },
    async (req, reply) => {
      const created = await serviceTokens.create(req.body.name, req.staff!.accountId);
      req.logger.info('service token created', { serviceTokenId: created.serviceToken.id, by: req.staff!.accountId });
      return reply.status(201).send(created);
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/admin/service-tokens/:id',
    { preHandler: admin, schema: { summary: 'Revoke a service token', tags: ['admin'], security, params: IdParam } },
    async (req, reply) => {
      await serviceTokens.revoke(req.params.id);
      req.logger.info('service token revoked', { serviceTokenId: req.params.id, by: req.staff!.accountId });
      return reply.status(204).send();
    },
  );

  app.get('/api/admin/social/sources', { preHandler: admin, schema: { summary: 'Sources with the state Managers report', tags: ['admin'], security } }, async () =>
    social.listSources(),
  );

  app.put<{ Body: Static<typeof SaveSourceBody> }>(
    '/api/admin/social/sources',
    { preHandler: admin, schema: { summary: 'Add or replace a source', tags: ['admin'], security, body: SaveSourceBody } },
    async (req) => social.saveSource(req.body),
  );

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/admin/social/sources/:id',
    { preHandler: admin, schema: { summary: 'Remove a source', tags: ['admin'], security, params: IdParam } },
    async (req, reply) => {
      await social.removeSource(req.params.id);
      return reply.status(204).send();
    },
  );

  app.get('/api/admin/social/policies', { preHandler: admin, schema: { summary: 'Policies: which posts become tasks', tags: ['admin'], security } }, async () =>
    social.listPolicies(),
  );

  app.put<{ Body: Static<typeof PolicyConfig> }>(
    '/api/admin/social/policies',
    { preHandler: admin, schema: { summary: 'Add or replace a policy (its query is checked)', tags: ['admin'], security, body: PolicyConfig } },
    async (req) => social.savePolicy(req.body),
  );

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/admin/social/policies/:id',
    { preHandler: admin, schema: { summary: 'Remove a policy', tags: ['admin'], security, params: IdParam } },
    async (req, reply) => {
      await social.removePolicy(req.params.id);
      return reply.status(204).send();
    },
  );
}
