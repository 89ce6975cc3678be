// Staff sign-in and password change.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import {
  AccountView,
  ChangePasswordBody,
  LoginReply,
  PasswordResetBody,
  PasswordResetConfirmBody,
  StaffLoginBody,
  TotpCodeBody,
  TotpEnrolReply,
} from '../../protocol/http.js';
import { DomainError } from '../../lib/errors.js';
import { AccountLockedError } from '../../accounts/account-service.js';
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

  app.post<{ Body: Static<typeof StaffLoginBody> }>(
    '/api/auth/login',
    {
      config: { rateLimit: loginLimit },
      schema: {
        summary: 'Sign in as agent, supervisor or admin (with `totp` when a second factor is enabled)',
        tags: ['auth'],
        body: StaffLoginBody,
        response: { 200: LoginReply },
      },
    },
    async (req, reply) => {
      const account = await accounts.authenticate(req.body.email, req.body.password, req.body.totp).catch((err: unknown) => {
        // Locked: the same error as a wrong password, plus when to try again.
        if (err instanceof AccountLockedError) void reply.header('retry-after', String(err.retryAfterSeconds));
        throw err;
      });
      if (account.verification === 'suspended') throw new DomainError('FORBIDDEN', 'this account is suspended');
      const { token, expiresAt } = await tokens.issueStaff(account.id, account.role, account.mustChangePassword, account.tokenVersion ?? 0);
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

  const staff = requireStaff(tokens, STAFF_ROLES);
  const security = [{ bearer: [] }];

  app.post(
    '/api/auth/sessions/revoke',
    { preHandler: staff, schema: { summary: 'Sign out everywhere: every token of this account stops working, live connections close', tags: ['auth'], security } },
    async (req, reply) => {
      await accounts.revokeSessions(req.staff!.accountId);
      req.logger.info('sessions revoked', { accountId: req.staff!.accountId, by: 'self' });
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/auth/totp/enrol',
    { preHandler: staff, schema: { summary: 'Start a TOTP second factor: a secret and otpauth:// URI for an authenticator app', tags: ['auth'], security, response: { 200: TotpEnrolReply } } },
    async (req) => accounts.enrolTotp(req.staff!.accountId),
  );
  app.post<{ Body: Static<typeof TotpCodeBody> }>(
    '/api/auth/totp/confirm',
    { preHandler: staff, config: { rateLimit: loginLimit }, schema: { summary: 'Turn the second factor on with a first code', tags: ['auth'], security, body: TotpCodeBody } },
    async (req, reply) => {
      await accounts.confirmTotp(req.staff!.accountId, req.body.code);
      req.logger.info('second factor enabled', { accountId: req.staff!.accountId });
      return reply.status(204).send();
    },
  );
  app.post<{ Body: Static<typeof TotpCodeBody> }>(
    '/api/auth/totp/disable',
    { preHandler: staff, config: { rateLimit: loginLimit }, schema: { summary: 'Turn the second factor off (with a current code)', tags: ['auth'], security, body: TotpCodeBody } },
    async (req, reply) => {
      await accounts.disableTotp(req.staff!.accountId, req.body.code);
      req.logger.info('second factor disabled', { accountId: req.staff!.accountId });
      return reply.status(204).send();
    },
  );

  const resets = deps.agentAccounts?.resets;
  if (resets) {
    app.post<{ Body: Static<typeof PasswordResetBody> }>(
      '/api/auth/password-reset',
      {
        config: { rateLimit: loginLimit },
        schema: { summary: 'Ask for a one-time password-reset link (always 202: it does not say whether the email has an account)', tags: ['auth'], body: PasswordResetBody },
      },
      async (req, reply) => {
        // Not awaited: answering at once for known and unknown emails alike keeps timing from telling them apart.
        void resets.request(req.body.email).catch((err: unknown) => req.logger.error('password reset request failed', { err }));
        return reply.status(202).send();
      },
    );
    app.post<{ Body: Static<typeof PasswordResetConfirmBody> }>(
      '/api/auth/password-reset/confirm',
      { config: { rateLimit: loginLimit }, schema: { summary: 'Set a new password with a reset link (once); signs out everywhere', tags: ['auth'], body: PasswordResetConfirmBody } },
      async (req, reply) => {
        await resets.confirm(req.body.token, req.body.newPassword);
        return reply.status(204).send();
      },
    );
  }
}
