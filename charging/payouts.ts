// What agents earned and were paid, and what the platform made: read from the ledger (statements)
// and from settled charging sessions (earnings, revenue). Periods are [from, to) in epoch ms.
import type { DataSource } from 'typeorm';
import { ChargingSessionEntity, LedgerPostingEntity, LedgerTransactionEntity, type ChargingSessionRow } from '../db/charging-entities.js';
import { agentAccount, payoutAccount, walletOwner } from './accounts.js';
import type { LedgerService, LedgerTransaction, TransactionKind } from './ledger.js';
import { addMinor, assertCurrency, assertMinor, sumMinor, type Money } from './money.js';
import { safeInt } from './sql.js';

export interface Period {
  from: number;
  to: number;
}

export interface StatementLine {
  at: number;
  transactionId: string;
  kind: TransactionKind;
  sessionId: string | null;
  memo: string | null;
  /** Signed: earnings positive, refunds and payouts negative. */
  amountMinor: number;
}

export interface AgentStatement {
  agentId: string;
  currency: string;
  period: Period;
  openingMinor: number;
  earningsMinor: number;
  refundsMinor: number;
  payoutsMinor: number;
  adjustmentsMinor: number;
  closingMinor: number;
  lines: StatementLine[];
}

export interface EarningsSummary {
  agentId: string;
  currency: string;
  sessions: number;
  billedSeconds: number;
  grossMinor: number;
  agentMinor: number;
}

export interface RevenueRow {
  queueId: string;
  agentId: string;
  currency: string;
  sessions: number;
  billedSeconds: number;
  grossMinor: number;
  agentMinor: number;
  platformMinor: number;
  taxMinor: number;
  /** Given back to customers in the period for this queue and agent's sessions. */
  refundsMinor: number;
}

function assertPeriod(p: Period): void {
  if (!Number.isSafeInteger(p.from) || !Number.isSafeInteger(p.to) || p.from > p.to) throw new TypeError('a period needs integer from ≤ to (epoch ms)');
}

export class PayoutService {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerService,
  ) {}

  /** Money paid to the agent: agent payable → payout:<agentId>; never more than the agent is owed. */
  async recordPayout(agentId: string, amount: Money, idempotencyKey: string, memo: string | null = null): Promise<LedgerTransaction> {
    assertMinor(amount.amountMinor, 'amountMinor', true);
    if (amount.amountMinor === 0) throw new TypeError('a payout must be more than zero');
    assertCurrency(amount.currency);
    return this.ledger.post({
      idempotencyKey,
      kind: 'payout',
      currency: amount.currency,
      memo,
      postings: [
        { account: agentAccount(agentId), amountMinor: -amount.amountMinor, floorMinor: 0 },
        { account: payoutAccount(agentId), amountMinor: amount.amountMinor },
      ],
    });
  }

  /** The agent's payable account over a period, per currency it ever held. */
  async statement(agentId: string, period: Period): Promise<AgentStatement[]> {
    assertPeriod(period);
    const account = agentAccount(agentId);
    const rows = await this.db
      .getRepository(LedgerPostingEntity)
      .createQueryBuilder('p')
      .innerJoin(LedgerTransactionEntity.options.name, 't', 't.id = p.transactionId')
      .select(['p.amountMinor AS amount_minor', 'p.currency AS currency', 'p.createdAt AS posted_at', 't.id AS tx_id', 't.kind AS tx_kind', 't.sessionId AS session_id', 't.memo AS memo'])
      .where('p.account = :account AND p.createdAt < :to', { account, to: period.to })
      .orderBy('p.createdAt', 'ASC')
      .addOrderBy('t.id', 'ASC')
      .getRawMany<{ amount_minor: string | number; currency: string; posted_at: string | number; tx_id: string; tx_kind: TransactionKind; session_id: string | null; memo: string | null }>();
    const byCurrency = new Map<string, AgentStatement>();
    for (const r of rows) {
      let s = byCurrency.get(r.currency);
      if (!s) {
        s = { agentId, currency: r.currency, period, openingMinor: 0, earningsMinor: 0, refundsMinor: 0, payoutsMinor: 0, adjustmentsMinor: 0, closingMinor: 0, lines: [] };
        byCurrency.set(r.currency, s);
      }
      const amountMinor = safeInt(r.amount_minor, 'posting');
      const at = safeInt(r.posted_at, 'time');
      s.closingMinor = addMinor(s.closingMinor, amountMinor);
      if (at < period.from) {
        s.openingMinor = addMinor(s.openingMinor, amountMinor);
        continue;
      }
      s.lines.push({ at, transactionId: r.tx_id, kind: r.tx_kind, sessionId: r.session_id, memo: r.memo, amountMinor });
      if (r.tx_kind === 'charge') s.earningsMinor = addMinor(s.earningsMinor, amountMinor);
      else if (r.tx_kind === 'refund' || r.tx_kind === 'reversal') s.refundsMinor = addMinor(s.refundsMinor, amountMinor);
      else if (r.tx_kind === 'payout') s.payoutsMinor = addMinor(s.payoutsMinor, amountMinor);
      else s.adjustmentsMinor = addMinor(s.adjustmentsMinor, amountMinor);
    }
    return [...byCurrency.values()];
  }

  /** Sessions the agent was paid for in the period, per currency (for the agent app). */
  async agentEarnings(agentId: string, period: Period): Promise<EarningsSummary[]> {
    assertPeriod(period);
    const sessions = await this.#settled(period, agentId);
    const byCurrency = new Map<string, EarningsSummary>();
    for (const s of sessions) {
      const e = byCurrency.get(s.currency) ?? { agentId, currency: s.currency, sessions: 0, billedSeconds: 0, grossMinor: 0, agentMinor: 0 };
      e.sessions += 1;
      e.billedSeconds += s.billedSeconds ?? 0;
      e.grossMinor = addMinor(e.grossMinor, s.amountMinor ?? 0);
      e.agentMinor = addMinor(e.agentMinor, s.agentMinor ?? 0);
      byCurrency.set(s.currency, e);
    }
    return [...byCurrency.values()];
  }

  /** Per queue, agent and currency: sessions settled in the period and refunds given in it. */
  async revenueReport(period: Period): Promise<RevenueRow[]> {
    assertPeriod(period);
    const rows = new Map<string, RevenueRow>();
    const rowFor = (s: Pick<ChargingSessionRow, 'queueId' | 'agentId' | 'currency'>): RevenueRow => {
      const key = JSON.stringify([s.queueId, s.agentId, s.currency]);
      let r = rows.get(key);
      if (!r) {
        r = { queueId: s.queueId, agentId: s.agentId, currency: s.currency, sessions: 0, billedSeconds: 0, grossMinor: 0, agentMinor: 0, platformMinor: 0, taxMinor: 0, refundsMinor: 0 };
        rows.set(key, r);
      }
      return r;
    };
    for (const s of await this.#settled(period)) {
      const r = rowFor(s);
      r.sessions += 1;
      r.billedSeconds += s.billedSeconds ?? 0;
      r.grossMinor = addMinor(r.grossMinor, s.amountMinor ?? 0);
      r.agentMinor = addMinor(r.agentMinor, s.agentMinor ?? 0);
      r.platformMinor = addMinor(r.platformMinor, s.platformMinor ?? 0);
      r.taxMinor = addMinor(r.taxMinor, s.taxMinor ?? 0);
    }
    // Refunds (and reversals of charges) in the period, attributed to their session's queue and agent.
    const refunds = await this.db
      .getRepository(LedgerTransactionEntity)
      .createQueryBuilder('t')
      .where("t.kind IN ('refund', 'reversal') AND t.sessionId IS NOT NULL AND t.createdAt >= :from AND t.createdAt < :to", period)
      .getMany();
    const sessionRepo = this.db.getRepository(ChargingSessionEntity);
    for (const t of refunds) {
      const session = await sessionRepo.findOneBy({ id: t.sessionId! });
      if (!session) continue;
      const tx = await this.ledger.get(t.id);
      const back = sumMinor((tx?.postings ?? []).filter((p) => walletOwner(p.account) !== null).map((p) => p.amountMinor));
      const r = rowFor(session);
      r.refundsMinor = addMinor(r.refundsMinor, back);
    }
    return [...rows.values()].sort((a, b) => a.queueId.localeCompare(b.queueId) || a.agentId.localeCompare(b.agentId) || a.currency.localeCompare(b.currency));
  }

  async #settled(period: Period, agentId?: string): Promise<ChargingSessionRow[]> {
    const q = this.db
      .getRepository(ChargingSessionEntity)
      .createQueryBuilder('s')
      .where("s.state = 'settled' AND s.settledAt >= :from AND s.settledAt < :to", period);
    if (agentId !== undefined) q.andWhere('s.agentId = :agentId', { agentId });
    return q.orderBy('s.settledAt', 'ASC').getMany();
  }
}
