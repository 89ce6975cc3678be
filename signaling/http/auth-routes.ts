// Staff sign-in and password change.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { AccountView, ChangePasswordBody, LoginBody, LoginReply } from '../../protocol/http.js';
import type { AccountRow } from '../../db/entities.js';
import { STAFF_ROLES, requireStaff } from './guards.js';
import type { HttpDeps } from './app.js';

export function accountView(a: AccountRow): Static<typeof AccountView> {
  return {
    id: a.id,
    email: a.email,
    displayName: a.displayName,
    role: a.role,
    skills: a.skills,
    languages: a.languages,
    chatCapacity: a.chatCapacity,
    createdAt: a.createdAt,
  };
}

export function registerAuthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { tokens, accounts } = deps;
  // Tighter than other public routes: this one guesses passwords.
  const loginLimit = { max: Math.max(5, Math.floor(deps.config.http.publicRateLimitPerMinute / 4)), timeWindow: '1 minute' };

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/api/auth/login',
    { config: { rateLimit: loginLimit }, schema: { summary: 'Sign in as agent, supervisor or admin', tags: ['auth'], body: LoginBody, response: { 200: LoginReply } } },
    async (req) => {
      const account = await accounts.authenticate(req.body.email, req.body.password);
      const { token, expiresAt } = await tokens.issueStaff(account.id, account.role, account.mustChangePassword);
      req.logger.info('staff signed in', { accountId: account.id, role: account.role });
      return {
        token,
        expiresAt,
        account: { id: account.id, email: account.email, displayName: account.displayName, role: account.role, mustChangePassword: account.mustChangePassword },
      };
    },
  );

  app.post<{ Body: Static<typeof ChangePasswordBody> }>(
    '/api/auth/password',
    {
      preHandler: requireStaff(tokens, STAFF_ROLES, { allowPasswordChange: true }),
      config: { rateLimit: loginLimit },
      schema: { summary: 'Change your password (required after a one-time password)', tags: ['auth'], security: [{ bearer: [] }], body: ChangePasswordBody },
    },
    async (req, reply) => {
      await accounts.changePassword(req.staff!.accountId, req.body.currentPassword, req.body.newPassword);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/me',
    {
      preHandler: requireStaff(tokens, STAFF_ROLES, { allowPasswordChange: true }),
      schema: { summary: 'The signed-in account', tags: ['auth'], security: [{ bearer: [] }], response: { 200: AccountView } },
    },
    async (req) => accountView(await accounts.get(req.staff!.accountId)),
  );
}
