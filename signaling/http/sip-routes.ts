// SIP trunks for admins: every trunk with its live state (registration at the provider, OPTIONS
// reachability, calls in progress), and adding, changing and removing the console's trunks, which
// the running SIP bridge applies at once. Trunks from MCCS_SIP_TRUNKS_FILE are listed read-only.
// Passwords go in and are never sent back or logged: a view says only whether one is set.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ListedTrunk, TrunkStatus } from '../../sip-bridge/index.js';
import { CreateSipTrunkBody, SipTrunkParams, SipTrunkSettings, SipTrunkView, SipTrunksReply } from '../../protocol/sip.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

/** One trunk as the SIP service lists it (sip-bridge/start.ts TrunkListing). */
export interface SipTrunkListing extends ListedTrunk {
  status: TrunkStatus | null;
}

/** What the routes need of the SIP service. */
export interface SipTrunkAdmin {
  readonly bridge: unknown;
  list(): SipTrunkListing[];
  create(id: string, settings: SipTrunkSettings, by: string): Promise<SipTrunkListing>;
  replace(id: string, settings: SipTrunkSettings, by: string): Promise<SipTrunkListing>;
  remove(id: string): Promise<void>;
}

/** The view of a trunk: settings without passwords, and its state. */
export function trunkView(t: SipTrunkListing): SipTrunkView {
  const e = t.entry;
  return {
    id: e.id,
    source: t.source,
    allow: e.allow ?? [],
    auth: e.auth ? { username: e.auth.username, realm: e.auth.realm ?? null, passwordSet: Boolean(e.auth.password) } : null,
    maxConcurrent: e.maxConcurrent ?? null,
    maxCallsPerSecond: e.maxCallsPerSecond ?? null,
    target: e.target ?? null,
    register: e.register
      ? {
          registrar: e.register.registrar,
          username: e.register.username,
          realm: e.register.realm ?? null,
          expires: e.register.expires ?? null,
          contactUser: e.register.contactUser ?? null,
          passwordSet: Boolean(e.register.password),
        }
      : null,
    keepAlive: e.keepAlive ? { target: e.keepAlive.target ?? null, intervalSeconds: e.keepAlive.intervalSeconds, failuresBeforeDown: e.keepAlive.failuresBeforeDown ?? null } : null,
    rtpRelay: e.rtpRelay ?? true,
    queueId: e.queueId ?? 'general',
    menu: e.menu ?? null,
    menuPrompt: e.menuPrompt ?? null,
    callbacks: e.callbacks === true,
    updatedAt: t.updatedAt,
    activeCalls: t.status?.activeCalls ?? 0,
    ...(t.status?.registration ? { registration: t.status.registration } : {}),
    ...(t.status?.reachability ? { reachability: t.status.reachability } : {}),
  };
}

export function registerSipRoutes(app: FastifyInstance, deps: { tokens: TokenService; sip: () => SipTrunkAdmin | null }): void {
  const admin = requireStaff(deps.tokens, ['admin']);
  const security = [{ bearer: [] }];
  const tags = ['admin'];
  const service = (): SipTrunkAdmin => {
    const sip = deps.sip();
    if (!sip) throw new Error('the SIP service is not started');
    return sip;
  };

  app.get(
    '/api/admin/sip/trunks',
    { preHandler: admin, schema: { summary: 'SIP trunks: settings (no passwords), registration, reachability, calls in progress', tags, security, response: { 200: SipTrunksReply } } },
    async (): Promise<SipTrunksReply> => {
      const sip = deps.sip();
      return { enabled: Boolean(sip?.bridge), trunks: (sip?.list() ?? []).map(trunkView) };
    },
  );

  app.post<{ Body: Static<typeof CreateSipTrunkBody> }>(
    '/api/admin/sip/trunks',
    { preHandler: admin, schema: { summary: 'Add a SIP trunk; the SIP bridge accepts its calls at once', tags, security, body: CreateSipTrunkBody, response: { 201: SipTrunkView } } },
    async (req, reply) => {
      const { id, ...settings } = req.body;
      const created = await service().create(id, settings, req.staff!.accountId);
      req.logger.info('SIP trunk added', { trunk: id, by: req.staff!.accountId });
      return reply.status(201).send(trunkView(created));
    },
  );

  app.put<{ Params: Static<typeof SipTrunkParams>; Body: SipTrunkSettings }>(
    '/api/admin/sip/trunks/:id',
    {
      preHandler: admin,
      schema: {
        summary: "Replace a console SIP trunk's settings (passwords left out are kept); registration restarts when its settings change",
        tags,
        security,
        params: SipTrunkParams,
        body: SipTrunkSettings,
        response: { 200: SipTrunkView },
      },
    },
    async (req) => {
      const updated = await service().replace(req.params.id, req.body, req.staff!.accountId);
      req.logger.info('SIP trunk changed', { trunk: req.params.id, fields: Object.keys(req.body), by: req.staff!.accountId });
      return trunkView(updated);
    },
  );

  app.delete<{ Params: Static<typeof SipTrunkParams> }>(
    '/api/admin/sip/trunks/:id',
    { preHandler: admin, schema: { summary: 'Remove a console SIP trunk: new calls from it are refused (403), calls in progress go on', tags, security, params: SipTrunkParams } },
    async (req, reply) => {
      await service().remove(req.params.id);
      req.logger.info('SIP trunk removed', { trunk: req.params.id, by: req.staff!.accountId });
      return reply.status(204).send();
    },
  );
}
