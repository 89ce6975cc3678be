// What the HTTP routes ask of charging, in the shapes of protocol/charging.ts: quotes and wallets,
// credits and webhooks, refunds, rate plans, agents' prices and shares, earnings, statements, payouts,
// the revenue report and call detail records. It only translates; the services below do the work.
import type { IncomingHttpHeaders } from 'node:http';
import type { Repository } from 'typeorm';
import type { AccountRow } from '../db/entities.js';
import { DomainError, NotFoundError } from '../lib/errors.js';
import type { QuoteView, RatePlanBody, WalletView } from '../protocol/charging.js';
import type { CdrFilter, CdrService } from './cdr.js';
import type { AdminCreditProvider, HmacWebhookProvider } from './payments.js';
import type { PayoutService, Period, RevenueRow } from './payouts.js';
import type { RatePlanService } from './rate-plans.js';
import type { RatePlan } from './rating.js';
import type { RefundService } from './refunds.js';
import type { TaskBilling, PlanChannel } from './task-billing.js';
import type { Wallet, WalletService } from './wallets.js';

export interface ChargingDeskDeps {
  billing: TaskBilling;
  plans: RatePlanService;
  wallets: WalletService;
  adminCredit: AdminCreditProvider;
  /** Payment providers that call a webhook, by the id in their URL. */
  webhooks: Map<string, HmacWebhookProvider>;
  refunds: RefundService;
  payouts: PayoutService;
  cdrs: CdrService;
  accounts: Repository<AccountRow>;
  defaultCurrency: string;
}

export interface RevenueLine {
  currency: string;
  sessions: number;
  grossMinor: number;
  agentShareMinor: number;
  platformMinor: number;
  taxMinor: number;
  refundsMinor: number;
}

function walletView(customerId: string, w: Wallet | null, defaultCurrency: string): WalletView {
  if (!w) return { customerId, currency: defaultCurrency, kind: 'prepaid', balanceMinor: 0, reservedMinor: 0, availableMinor: 0 };
  return { customerId, currency: w.currency, kind: w.kind, balanceMinor: w.balanceMinor, reservedMinor: w.reservedMinor, availableMinor: w.availableMinor };
}

/** Sums revenue rows per currency (and per key, when one is given). */
function totals(rows: RevenueRow[], key: (r: RevenueRow) => string = () => ''): Map<string, RevenueLine & { key: string }> {
  const out = new Map<string, RevenueLine & { key: string }>();
  for (const r of rows) {
    const k = `${key(r)}|${r.currency}`;
    const t = out.get(k) ?? { key: key(r), currency: r.currency, sessions: 0, grossMinor: 0, agentShareMinor: 0, platformMinor: 0, taxMinor: 0, refundsMinor: 0 };
    t.sessions += r.sessions;
    t.grossMinor += r.grossMinor;
    t.agentShareMinor += r.agentMinor;
    t.platformMinor += r.platformMinor;
    t.taxMinor += r.taxMinor;
    t.refundsMinor += r.refundsMinor;
    out.set(k, t);
  }
  return out;
}

export class ChargingDesk {
  constructor(private readonly deps: ChargingDeskDeps) {}

  quote(queueId: string, channel: PlanChannel | 'phone'): Promise<QuoteView> {
    if (channel === 'phone') return Promise.resolve({ queueId, channel, charged: false, expectedWaitMs: null });
    return this.deps.billing.quote(queueId, channel);
  }

  async wallet(customerId: string): Promise<WalletView> {
    return walletView(customerId, await this.deps.wallets.get(customerId), this.deps.defaultCurrency);
  }

  /** The wallet after the credit, and the top-up's transaction (what a refund of it names). */
  async credit(customerId: string, body: { amountMinor: number; currency: string; idempotencyKey: string; memo?: string }, adminId: string): Promise<WalletView & { transactionId: string }> {
    const tx = await this.deps.adminCredit.credit({ customerId, amountMinor: body.amountMinor, currency: body.currency, idempotencyKey: body.idempotencyKey, memo: body.memo ?? null, adminId });
    return { ...(await this.wallet(customerId)), transactionId: tx.id };
  }

  /** Prepaid, or postpaid with a credit limit (the wallet is opened in `currency` if the customer has none). */
  async setCreditTerms(customerId: string, body: { kind: 'prepaid' | 'postpaid'; creditLimitMinor: number; currency: string }): Promise<WalletView> {
    if (body.kind === 'prepaid' && body.creditLimitMinor !== 0) throw new DomainError('VALIDATION', 'a prepaid wallet has no credit limit: send creditLimitMinor 0');
    await this.deps.wallets.open(customerId, body.currency);
    await this.deps.wallets.setCreditTerms(customerId, body.kind, body.creditLimitMinor);
    return this.wallet(customerId);
  }

  /** A top-up given back to its provider (the wallet may not go below its floor). */
  async refundTopUp(transactionId: string, body: { idempotencyKey: string; memo?: string }, adminId: string): Promise<{ transactionId: string }> {
    const tx = await this.deps.refunds.refundTopUp(transactionId, `refund:${body.idempotencyKey}`, body.memo ? `${body.memo} (by ${adminId})` : `refunded by ${adminId}`);
    return { transactionId: tx.id };
  }

  /** Verifies and books a provider's event; a replayed event is booked once (its id is the key). */
  async webhook(providerId: string, rawBody: string, headers: IncomingHttpHeaders): Promise<{ eventId: string; transactionId: string }> {
    const provider = this.deps.webhooks.get(providerId);
    if (!provider) throw new NotFoundError(`payment provider ${providerId}`);
    if (typeof rawBody !== 'string') throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'send the event as application/json');
    const signature = headers['x-mccs-signature'];
    const { event, transaction } = await provider.handle(rawBody, Array.isArray(signature) ? signature[0] : signature, Date.now());
    return { eventId: event.id, transactionId: transaction.id };
  }

  async refund(sessionId: string, body: { amountMinor?: number; idempotencyKey: string; memo?: string }, adminId: string): Promise<{ transactionId: string; amountMinor: number }> {
    const tx = await this.deps.refunds.refundSession(sessionId, {
      ...(body.amountMinor !== undefined ? { amountMinor: body.amountMinor } : {}),
      idempotencyKey: `refund:${body.idempotencyKey}`,
      memo: body.memo ? `${body.memo} (by ${adminId})` : `refunded by ${adminId}`,
    });
    const back = tx.postings.filter((p) => p.account.startsWith('wallet:')).reduce((n, p) => n + p.amountMinor, 0);
    return { transactionId: tx.id, amountMinor: back };
  }

  async ratePlans(): Promise<RatePlan[]> {
    return this.deps.plans.list();
  }

  /** One plan per topic and channel: saving replaces the one there is. */
  async saveRatePlan(body: RatePlanBody): Promise<RatePlan> {
    const existing = (await this.deps.plans.list({ queueId: body.queueId })).find((p) => p.channel === body.channel);
    if (!existing) return this.deps.plans.create(body);
    const { queueId: _q, channel: _c, ...patch } = body;
    return this.deps.plans.update(existing.id, patch);
  }

  /**
   * An agent's own price must fit at least one topic the agent could be priced in; each topic holds it
   * to its own bounds. Null (each topic's price) always fits. Also checked at sign-up.
   */
  async checkAgentPrice(pricePerMinuteMinor: number | null): Promise<void> {
    if (pricePerMinuteMinor === null) return;
    const plans = (await this.deps.plans.list()).filter((p) => p.active);
    const fits = plans.length === 0 || plans.some((p) => (p.agentPriceMinMinor ?? 0) <= pricePerMinuteMinor && pricePerMinuteMinor <= (p.agentPriceMaxMinor ?? p.perMinuteMinor));
    if (!fits) throw new DomainError('VALIDATION', 'no topic allows that price: stay within a topic’s agent price range');
  }

  async setAgentPrice(agentId: string, pricePerMinuteMinor: number | null): Promise<{ pricePerMinuteMinor: number | null }> {
    await this.checkAgentPrice(pricePerMinuteMinor);
    const result = await this.deps.accounts.update({ id: agentId }, { pricePerMinuteMinor });
    if (!result.affected) throw new NotFoundError('agent');
    return { pricePerMinuteMinor };
  }

  async setRevenueShare(agentId: string, revenueShareBps: number | null): Promise<{ revenueShareBps: number | null }> {
    const agent = await this.deps.accounts.findOneBy({ id: agentId });
    if (!agent || agent.role === 'admin') throw new NotFoundError('agent');
    await this.deps.accounts.update({ id: agentId }, { revenueShareBps });
    return { revenueShareBps };
  }

  async earnings(agentId: string, period: Period): Promise<{
    from: number;
    to: number;
    pricePerMinuteMinor: number | null;
    totals: Array<{ currency: string; sessions: number; billedSeconds: number; grossMinor: number; agentShareMinor: number; refundsMinor: number }>;
    payableMinor: Array<{ currency: string; amountMinor: number }>;
  }> {
    const [agent, earned, revenue, statements] = await Promise.all([
      this.deps.accounts.findOneBy({ id: agentId }),
      this.deps.payouts.agentEarnings(agentId, period),
      this.deps.payouts.revenueReport(period),
      this.deps.payouts.statement(agentId, { from: period.from, to: Number.MAX_SAFE_INTEGER }),
    ]);
    const refunds = totals(revenue.filter((r) => r.agentId === agentId));
    return {
      ...period,
      pricePerMinuteMinor: agent?.pricePerMinuteMinor ?? null,
      totals: earned.map((e) => ({
        currency: e.currency,
        sessions: e.sessions,
        billedSeconds: e.billedSeconds,
        grossMinor: e.grossMinor,
        agentShareMinor: e.agentMinor,
        refundsMinor: refunds.get(`|${e.currency}`)?.refundsMinor ?? 0,
      })),
      payableMinor: statements.map((s) => ({ currency: s.currency, amountMinor: s.closingMinor })),
    };
  }

  statement(agentId: string, period: Period) {
    return this.deps.payouts.statement(agentId, period);
  }

  async payout(agentId: string, body: { amountMinor: number; currency: string; idempotencyKey: string }): Promise<{ transactionId: string }> {
    const tx = await this.deps.payouts.recordPayout(agentId, { amountMinor: body.amountMinor, currency: body.currency }, `payout:${body.idempotencyKey}`);
    return { transactionId: tx.id };
  }

  async revenue(period: Period): Promise<{ from: number; to: number; totals: RevenueLine[]; byQueue: Array<RevenueLine & { queueId: string }>; byAgent: Array<RevenueLine & { agentId: string; displayName: string }> }> {
    const rows = await this.deps.payouts.revenueReport(period);
    const names = new Map((await this.deps.accounts.find()).map((a) => [a.id, a.displayName]));
    const strip = ({ key: _k, ...line }: RevenueLine & { key: string }): RevenueLine => line;
    return {
      ...period,
      totals: [...totals(rows).values()].map(strip),
      byQueue: [...totals(rows, (r) => r.queueId).values()].map((t) => ({ queueId: t.key, ...strip(t) })),
      byAgent: [...totals(rows, (r) => r.agentId).values()].map((t) => ({ agentId: t.key, displayName: names.get(t.key) ?? t.key, ...strip(t) })),
    };
  }

  async cdrs(filter: CdrFilter): Promise<{ records: unknown[]; nextCursor: string | null }> {
    const page = await this.deps.cdrs.list(filter);
    return { records: page.rows, nextCursor: page.nextCursor };
  }

  async cdrsCsv(filter: CdrFilter): Promise<string> {
    return this.deps.cdrs.toCsv((await this.deps.cdrs.list(filter)).rows);
  }
}
