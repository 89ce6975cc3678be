// Agents who sign up themselves (docs/agents.md): the public sign-up, the agent's own profile, policies
// and verification documents, and the admins' verification decisions, audit trail and trust signals.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  AdminAgentView,
  AgentDocumentBody,
  AgentDocumentView,
  AgentProfileBody,
  AgentProfileView,
  AgentSignupBody,
  AgentTrustView,
  AgentVerificationState,
  VerificationBody,
  VerificationEventView,
} from '../../protocol/http.js';
import type { AccountRow, AgentVerification } from '../../db/entities.js';
import type { AgentStatus } from '../../protocol/events.js';
import type { AgentDocumentRow, AgentVerificationEventRow } from '../../db/accounts-entities.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { AgentOnboarding } from '../../accounts/agent-onboarding.js';
import { NOT_READY_REASONS, notReadyReason } from '../../accounts/agent-policy.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

export interface AgentRouteDeps {
  tokens: TokenService;
  accounts: AccountService;
  onboarding: AgentOnboarding;
  /** Sets a connected agent not ready (null: without a reason); rejects when the agent is not connected here. */
  setNotReady: (agentId: string, reason: string | null) => Promise<unknown>;
  /** The agent's presence as routing sees it. */
  agentStatus: (agentId: string) => Promise<AgentStatus>;
  /** Tells the agent's open apps, on whichever node they are connected, that their verification changed. */
  accountUpdated: (agentId: string, verification: AgentVerification) => void;
  publicRateLimitPerMinute: number;
}

const documentView = (d: AgentDocumentRow): Static<typeof AgentDocumentView> => ({
  id: d.id,
  filename: d.filename,
  mimeType: d.mimeType,
  sizeBytes: d.sizeBytes,
  uploadedAt: d.uploadedAt,
});
const eventView = (e: AgentVerificationEventRow): Static<typeof VerificationEventView> => ({ id: e.id, action: e.action, reason: e.reason, byAdmin: e.byAdmin, at: e.at });
const adminAgentView = (a: AccountRow): Static<typeof AdminAgentView> => ({
  id: a.id,
  email: a.email,
  displayName: a.displayName,
  legalName: a.legalName ?? null,
  verification: a.verification ?? 'verified',
  skills: a.skills,
  languages: a.languages,
  bio: a.bio ?? '',
  timeZone: a.timeZone ?? 'UTC',
  createdAt: a.createdAt,
});

const AgentIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });

export function registerAgentRoutes(app: FastifyInstance, deps: AgentRouteDeps): void {
  const { onboarding } = deps;

  /**
   * A connected agent kept not ready for want of verification stays not ready (they choose when to
   * start) but no longer for that reason: for the one that holds now (hours, do not disturb), or none.
   * Not connected here: nothing to change (connecting sets the reason afresh).
   */
  async function clearVerificationReason(account: AccountRow): Promise<void> {
    const status = await deps.agentStatus(account.id).catch(() => null);
    const verificationReasons: Array<string | null> = [NOT_READY_REASONS.pending, NOT_READY_REASONS.rejected, NOT_READY_REASONS.suspended];
    if (status?.state !== 'not_ready' || !verificationReasons.includes(status.reason)) return;
    await deps.setNotReady(account.id, notReadyReason(account, Date.now())).catch(() => undefined);
  }
  const agent = requireStaff(deps.tokens, ['agent']);
  const admin = requireStaff(deps.tokens, ['admin']);
  const security = [{ bearer: [] }];
  // Sign-up creates accounts and hashes passwords: as tight as sign-in.
  const signupLimit = { max: Math.max(5, Math.floor(deps.publicRateLimitPerMinute / 4)), timeWindow: '1 minute' };

  app.post<{ Body: Static<typeof AgentSignupBody> }>(
    '/api/agent-signup',
    {
      config: { rateLimit: signupLimit },
      schema: { summary: 'Become an agent: the account waits for verification before it takes work', tags: ['agent'], body: AgentSignupBody, response: { 201: AgentProfileView } },
    },
    async (req, reply) => {
      const account = await onboarding.signUp(req.body);
      return reply.status(201).send(await onboarding.profile(account.id));
    },
  );

  app.get(
    '/api/agent/profile',
    { preHandler: agent, schema: { summary: 'Your profile, policies and verification state', tags: ['agent'], security, response: { 200: AgentProfileView } } },
    async (req) => onboarding.profile(req.staff!.accountId),
  );
  app.put<{ Body: Static<typeof AgentProfileBody> }>(
    '/api/agent/profile',
    {
      preHandler: agent,
      schema: {
        summary: 'Change your profile and policies (hours, channels, concurrent chats, do not disturb); verification, rating and share are not yours to set',
        tags: ['agent'],
        security,
        body: AgentProfileBody,
        response: { 200: AgentProfileView },
      },
    },
    async (req) => {
      const view = await onboarding.updateProfile(req.staff!.accountId, req.body);
      req.logger.info('agent profile changed', { accountId: req.staff!.accountId, fields: Object.keys(req.body) });
      // Do not disturb, or hours that exclude now, take effect at once (not at the next sweep).
      const reason = notReadyReason(await deps.accounts.get(req.staff!.accountId), Date.now());
      if (reason) await deps.setNotReady(req.staff!.accountId, reason).catch(() => undefined);
      return view;
    },
  );

  app.post<{ Body: Static<typeof AgentDocumentBody> }>(
    '/api/agent/documents',
    {
      preHandler: agent,
      bodyLimit: 7_200_000,
      config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
      schema: {
        summary: 'Upload a verification document (PDF, PNG or JPEG as base64, at most 5 MB)',
        tags: ['agent'],
        security,
        body: AgentDocumentBody,
        response: { 201: AgentDocumentView },
      },
    },
    async (req, reply) => reply.status(201).send(documentView(await onboarding.addDocument(req.staff!.accountId, req.body))),
  );
  app.get(
    '/api/agent/documents',
    { preHandler: agent, schema: { summary: 'Your verification documents', tags: ['agent'], security, response: { 200: Type.Array(AgentDocumentView) } } },
    async (req) => (await onboarding.listDocuments(req.staff!.accountId)).map(documentView),
  );

  // ---- admins ----------------------------------------------------------------------------------

  app.get<{ Querystring: { verification?: Static<typeof AgentVerificationState> } }>(
    '/api/admin/agents',
    {
      preHandler: admin,
      schema: {
        summary: 'Agents with their verification state (pending first) and private legal name',
        tags: ['admin'],
        security,
        querystring: Type.Object({ verification: Type.Optional(AgentVerificationState) }, { additionalProperties: false }),
        response: { 200: Type.Array(AdminAgentView) },
      },
    },
    async (req) => (await onboarding.listAgents(req.query.verification)).map(adminAgentView),
  );

  app.get<{ Params: Static<typeof AgentIdParams> }>(
    '/api/admin/agents/:id/trust',
    { preHandler: admin, schema: { summary: "An agent's trust signals", tags: ['admin'], security, params: AgentIdParams, response: { 200: AgentTrustView } } },
    async (req) => {
      const t = await onboarding.trust(req.params.id);
      return { ...t, lastDecision: t.lastDecision ? eventView(t.lastDecision) : null };
    },
  );

  app.get<{ Params: Static<typeof AgentIdParams> }>(
    '/api/admin/agents/:id/verification',
    {
      preHandler: admin,
      schema: { summary: "An agent's verification decisions, oldest first (append-only)", tags: ['admin'], security, params: AgentIdParams, response: { 200: Type.Array(VerificationEventView) } },
    },
    async (req) => (await onboarding.events(req.params.id)).map(eventView),
  );

  app.post<{ Params: Static<typeof AgentIdParams>; Body: Static<typeof VerificationBody> }>(
    '/api/admin/agents/:id/verification',
    {
      preHandler: admin,
      schema: {
        summary: 'Approve, reject, suspend or reinstate an agent, with a reason; rejecting or suspending signs the agent out everywhere',
        tags: ['admin'],
        security,
        params: AgentIdParams,
        body: VerificationBody,
        response: { 200: AdminAgentView },
      },
    },
    async (req) => {
      const { account } = await onboarding.decide(req.params.id, req.body.action, req.body.reason, req.staff!.accountId);
      // The agent's open apps show the new state at once (banner, Ready), not at their next reload.
      deps.accountUpdated(account.id, account.verification ?? 'verified');
      if (req.body.action === 'suspend' || req.body.action === 'reject') {
        // Not ready at once (its offers pass on), then every token and live connection goes.
        await deps.setNotReady(account.id, account.verification === 'suspended' ? 'suspended' : 'verification rejected').catch(() => undefined);
        await deps.accounts.revokeSessions(account.id);
      } else {
        await clearVerificationReason(account);
      }
      return adminAgentView(account);
    },
  );

  app.get<{ Params: Static<typeof AgentIdParams> }>(
    '/api/admin/agents/:id/documents',
    { preHandler: admin, schema: { summary: "An agent's verification documents", tags: ['admin'], security, params: AgentIdParams, response: { 200: Type.Array(AgentDocumentView) } } },
    async (req) => (await onboarding.listDocuments(req.params.id)).map(documentView),
  );

  app.get<{ Params: Static<typeof AgentIdParams> & { documentId: string } }>(
    '/api/admin/agents/:id/documents/:documentId',
    {
      preHandler: admin,
      schema: {
        summary: 'Download one verification document',
        tags: ['admin'],
        security,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }), documentId: Type.String({ minLength: 1, maxLength: 36 }) }),
      },
    },
    async (req, reply) => {
      const { row, bytes } = await onboarding.readDocument(req.params.id, req.params.documentId);
      req.logger.info('agent document downloaded', { agentId: req.params.id, documentId: row.id, by: req.staff!.accountId });
      return reply
        .type(row.mimeType)
        .header('content-disposition', `attachment; filename="${row.filename.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(row.filename)}`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(bytes);
    },
  );
}
