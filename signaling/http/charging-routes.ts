// Charging over HTTP: quotes and wallets for customers, payment-provider webhooks, the agent's price
// and earnings, and for admins rate plans, credits, refunds, revenue-share overrides, payouts, the
// revenue report and call detail records.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  AgentPriceBody,
  CdrQuery,
  CreditBody,
  CreditTermsBody,
  PeriodQuery,
  QuoteQuery,
  QuoteView,
  RatePlanBody,
  RefundBody,
  RevenueShareBody,
  WalletView,
} from '../../protocol/charging.js';
import { DomainError } from '../../lib/errors.js';
import type { TokenService } from '../auth/tokens.js';
import type { ChargingDesk } from '../../charging/desk.js';
import { bearerToken, requireStaff } from './guards.js';

export interface ChargingRouteDeps {
  tokens: TokenService;
  desk: ChargingDesk;
  publicRateLimitPerMinute: number;
}

const QueueParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9-]+$' }) });
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) });
const ProviderParam = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9-]+$' }) });
const PayoutBody = Type.Object(
  {
    amountMinor: Type.Integer({ minimum: 1 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    idempotencyKey: Type.String({ minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
  },
  { additionalProperties: false },
);
const DAY_MS = 86_400_000;

/** A period from the query: the last 31 days by default; at most a year, so a report stays bounded. */
function period(q: Static<typeof PeriodQuery>): { from: number; to: number } {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - 31 * DAY_MS;
  if (from > to) throw new DomainError('VALIDATION', '"from" must not be after "to"');
  if (to - from > 366 * DAY_MS) throw new DomainError('VALIDATION', 'a period is at most a year long');
  return { from, to };
}

export function registerChargingRoutes(app: FastifyInstance, deps: ChargingRouteDeps): void {
  const { desk, tokens } = deps;
  const rateLimit = { max: deps.publicRateLimitPerMinute, timeWindow: '1 minute' };
  const admin = requireStaff(tokens, ['admin']);
  const agent = requireStaff(tokens, ['agent', 'supervisor']);
  const security = [{ bearer: [] }];

  // ---- customers --------------------------------------------------------------------------------

  app.get<{ Params: Static<typeof QueueParam>; Querystring: Static<typeof QuoteQuery> }>(
    '/api/queues/:id/quote',
    {
      config: { rateLimit },
      schema: { summary: 'What a topic costs on a channel, and the expected wait, before connecting', tags: ['public'], params: QueueParam, querystring: QuoteQuery, response: { 200: QuoteView } },
    },
    async (req) => desk.quote(req.params.id, req.query.channel ?? 'chat'),
  );

  app.get(
    '/api/wallet',
    {
      config: { rateLimit },
      schema: { summary: "The visitor's balance (visitor token)", tags: ['public'], security, response: { 200: WalletView } },
    },
    async (req) => {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new DomainError('UNAUTHENTICATED', 'missing bearer token');
      const principal = await tokens.verify(token);
      if (principal.kind !== 'visitor') throw new DomainError('FORBIDDEN', 'visitors only');
      return desk.wallet(principal.customerId);
    },
  );

  // A payment provider tells us of a payment: the body is checked against its signature byte for
  // byte, so this route keeps the raw text instead of parsed JSON.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post<{ Params: Static<typeof ProviderParam>; Body: string }>(
      '/api/payments/:provider/webhook',
      { config: { rateLimit }, schema: { summary: "A payment provider's signed event (top-up or refund)", tags: ['public'], params: ProviderParam } },
      async (req) => {
        const result = await desk.webhook(req.params.provider, req.body, req.headers);
        req.logger.info('payment webhook', { provider: req.params.provider, eventId: result.eventId, transactionId: result.transactionId });
        return { ok: true, eventId: result.eventId };
      },
    );
  });

  // ---- agents -----------------------------------------------------------------------------------

  app.put<{ Body: Static<typeof AgentPriceBody> }>(
    '/api/agent/price',
    { preHandler: agent, schema: { summary: "The agent's own price per minute (null: each topic's price)", tags: ['agent'], security, body: AgentPriceBody } },
    async (req) => desk.setAgentPrice(req.staff!.accountId, req.body.pricePerMinuteMinor),
  );

  app.get<{ Querystring: Static<typeof PeriodQuery> }>(
    '/api/agent/earnings',
    { preHandler: agent, schema: { summary: "The agent's own earnings in a period", tags: ['agent'], security, querystring: PeriodQuery } },
    async (req) => desk.earnings(req.staff!.accountId, period(req.query)),
  );

  app.get<{ Querystring: Static<typeof PeriodQuery> }>(
    '/api/agent/statement',
    { preHandler: agent, schema: { summary: "The agent's own payout statement for a period", tags: ['agent'], security, querystring: PeriodQuery } },
    async (req) => desk.statement(req.staff!.accountId, period(req.query)),
  );

  // ---- admins -----------------------------------------------------------------------------------

  app.get('/api/admin/rate-plans', { preHandler: admin, schema: { summary: 'Rate plans of every topic and channel', tags: ['admin'], security } }, async () => desk.ratePlans());

  app.put<{ Body: Static<typeof RatePlanBody> }>(
    '/api/admin/rate-plans',
    { preHandler: admin, schema: { summary: "Create or replace a topic's rate plan for a channel", tags: ['admin'], security, body: RatePlanBody } },
    async (req) => {
      const plan = await desk.saveRatePlan(req.body);
      req.logger.info('rate plan saved', { queueId: plan.queueId, channel: plan.channel, by: req.staff!.accountId });
      return plan;
    },
  );

  app.get<{ Params: Static<typeof IdParam> }>(
    '/api/admin/customers/:id/wallet',
    { preHandler: admin, schema: { summary: "A customer's wallet", tags: ['admin'], security, params: IdParam, response: { 200: WalletView } } },
    async (req) => desk.wallet(req.params.id),
  );

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof CreditBody> }>(
    '/api/admin/customers/:id/credit',
    {
      preHandler: admin,
      schema: { summary: "Credit a customer's wallet (idempotent by key)", tags: ['admin'], security, params: IdParam, body: CreditBody, response: { 200: Type.Composite([WalletView, Type.Object({ transactionId: Type.String() })]) } },
    },
    async (req) => {
      const wallet = await desk.credit(req.params.id, req.body, req.staff!.accountId);
      req.logger.info('wallet credited', { customerId: req.params.id, amountMinor: req.body.amountMinor, currency: req.body.currency, by: req.staff!.accountId });
      return wallet;
    },
  );

  app.put<{ Params: Static<typeof IdParam>; Body: Static<typeof CreditTermsBody> }>(
    '/api/admin/customers/:id/credit-terms',
    { preHandler: admin, schema: { summary: "Prepaid, or postpaid with a credit limit", tags: ['admin'], security, params: IdParam, body: CreditTermsBody, response: { 200: WalletView } } },
    async (req) => {
      const wallet = await desk.setCreditTerms(req.params.id, req.body);
      req.logger.info('credit terms set', { customerId: req.params.id, kind: req.body.kind, creditLimitMinor: req.body.creditLimitMinor, by: req.staff!.accountId });
      return wallet;
    },
  );

  app.post<{ Params: Static<typeof IdParam>; Body: Omit<Static<typeof RefundBody>, 'amountMinor'> }>(
    '/api/admin/topups/:id/refund',
    { preHandler: admin, schema: { summary: 'Give a top-up back to its payment provider (idempotent by key)', tags: ['admin'], security, params: IdParam, body: Type.Omit(RefundBody, ['amountMinor']) } },
    async (req) => {
      const result = await desk.refundTopUp(req.params.id, req.body, req.staff!.accountId);
      req.logger.info('top-up refunded', { transactionId: req.params.id, by: req.staff!.accountId });
      return result;
    },
  );

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof RefundBody> }>(
    '/api/admin/sessions/:id/refund',
    { preHandler: admin, schema: { summary: "Refund a charged session's amount, all of it or part", tags: ['admin'], security, params: IdParam, body: RefundBody } },
    async (req) => {
      const result = await desk.refund(req.params.id, req.body, req.staff!.accountId);
      req.logger.info('session refunded', { sessionId: req.params.id, by: req.staff!.accountId });
      return result;
    },
  );

  app.put<{ Params: Static<typeof IdParam>; Body: Static<typeof RevenueShareBody> }>(
    '/api/admin/agents/:id/revenue-share',
    { preHandler: admin, schema: { summary: "An agent's own revenue share (null: each plan's default)", tags: ['admin'], security, params: IdParam, body: RevenueShareBody } },
    async (req) => desk.setRevenueShare(req.params.id, req.body.revenueShareBps),
  );

  app.get<{ Params: Static<typeof IdParam>; Querystring: Static<typeof PeriodQuery> }>(
    '/api/admin/agents/:id/statement',
    { preHandler: admin, schema: { summary: "An agent's payout statement for a period", tags: ['admin'], security, params: IdParam, querystring: PeriodQuery } },
    async (req) => desk.statement(req.params.id, period(req.query)),
  );

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof PayoutBody> }>(
    '/api/admin/agents/:id/payouts',
    { preHandler: admin, schema: { summary: 'Record a payout to an agent (idempotent by key)', tags: ['admin'], security, params: IdParam, body: PayoutBody } },
    async (req) => {
      const result = await desk.payout(req.params.id, req.body);
      req.logger.info('payout recorded', { agentId: req.params.id, amountMinor: req.body.amountMinor, by: req.staff!.accountId });
      return result;
    },
  );

  app.get<{ Querystring: Static<typeof PeriodQuery> }>(
    '/api/admin/revenue',
    { preHandler: admin, schema: { summary: 'Revenue in a period: gross, agents, platform, tax, refunds', tags: ['admin'], security, querystring: PeriodQuery } },
    async (req) => desk.revenue(period(req.query)),
  );

  app.get<{ Querystring: Static<typeof CdrQuery> }>(
    '/api/admin/cdrs',
    { preHandler: admin, schema: { summary: 'Call detail records of a period, as JSON or CSV', tags: ['admin'], security, querystring: CdrQuery } },
    async (req, reply) => {
      const { from, to } = period(req.query);
      const filter = { from, to, agentId: req.query.agentId, queueId: req.query.queueId, customerId: req.query.customerId, limit: req.query.limit ?? 10_000 };
      if (req.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="mccs-cdrs.csv"').send(await desk.cdrsCsv(filter));
      }
      return desk.cdrs(filter);
    },
  );
}
